package team.model_docs_test

import data.team.model_docs
import rego.v1

bom(file) := {
	"check": {"kind": "bom", "target": "models/a"},
	"details": {"cyclonedx": {"metadata": {"component": {"components": [{"name": file}]}}}},
}

test_an_undocumented_model_is_a_warning if {
	count(model_docs.warn) == 1 with input as {"models": [{"name": "a", "path": "models/a"}], "evidence": {"bom": [bom("model.onnx")]}}
}

test_a_readme_is_enough if {
	count(model_docs.warn) == 0 with input as {"models": [{"name": "a", "path": "models/a"}], "evidence": {"bom": [bom("README.md")]}}
}

test_no_bom_no_warning if {
	count(model_docs.warn) == 0 with input as {"models": [{"name": "a", "path": "models/a"}], "evidence": {}}
}
