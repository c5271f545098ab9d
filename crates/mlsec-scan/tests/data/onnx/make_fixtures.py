"""Writes the ONNX fixtures in this folder with the real onnx library.

Run from this folder: python make_fixtures.py (made with onnx 1.23.2).
- gemm_if.onnx: Gemm + Relu, then an If whose branches are subgraphs with a
  Constant each; weights in the file (raw_data). Checked by onnx.checker.
- external/model.onnx + external/model.onnx.data: the same weights saved as
  external data, as onnx.save_model(save_as_external_data=True) writes them.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def branch(name, value):
    const = helper.make_node(
        "Constant", [], [name + "_out"],
        value=numpy_helper.from_array(np.array([value], dtype=np.float32), name + "_value"),
    )
    out = helper.make_tensor_value_info(name + "_out", TensorProto.FLOAT, [1])
    return helper.make_graph([const], name, [], [out])


def model():
    w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3), "fc.weight")
    b = numpy_helper.from_array(np.zeros(4, dtype=np.float32), "fc.bias")
    cond = numpy_helper.from_array(np.array(True), "cond")
    nodes = [
        helper.make_node("Gemm", ["x", "fc.weight", "fc.bias"], ["h"], name="fc", transB=1),
        helper.make_node("Relu", ["h"], ["y"], name="relu"),
        helper.make_node(
            "If", ["cond"], ["z"], name="choose",
            then_branch=branch("then", 1.0), else_branch=branch("else", 0.0),
        ),
    ]
    graph = helper.make_graph(
        nodes, "main_graph",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, [1])],
        initializer=[w, b, cond],
    )
    m = helper.make_model(graph, producer_name="mlsec-fixtures",
                          opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


onnx.save_model(model(), "gemm_if.onnx")
os.makedirs("external", exist_ok=True)
onnx.save_model(model(), "external/model.onnx", save_as_external_data=True,
                all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=0)
