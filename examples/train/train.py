"""Trains the example project's penguin species classifier.

Reads the bundled Palmer Penguins table (examples/data/penguins.csv), fits a
scikit-learn pipeline (median imputer, standard scaler, logistic regression)
on three quarters of it, prints the accuracy on the held-out quarter, and
writes into examples/models/species-classifier/:

- model.joblib: the fitted pipeline (joblib.dump, for scikit-learn);
- model.onnx: the same pipeline converted with skl2onnx, for onnxruntime;
- requirements.txt: the library versions that load them (the BOM reads it).

and into examples/data/ the split, as lines copied from penguins.csv, which
`mlsec check` validates the model on (see [[validate]] in mlsec.toml):

- penguins-train.csv: the rows it was trained on (the privacy audit's members);
- penguins-holdout.csv: the held-out quarter (attacked, explained, and the
  audit's non-members).

The table is a byte-for-byte copy of data/penguins.csv from the
palmerpenguins package on PyPI (see examples/data/README.md); `--check`
verifies that, and that both files load back and agree.

The ONNX model has one input, `measurements`, float32 of shape [N, 4], the
columns in the order of FEATURES (bill length mm, bill depth mm, flipper
length mm, body mass g; NaN for a missing one, which the imputer fills), and
two outputs: `label`, the species as strings [N], and `probabilities`,
float32 [N, 3] in the order of CLASSES. ZipMap is turned off, so the
probabilities are a plain tensor rather than a list of dictionaries.

Everything is deterministic (fixed split and solver, no randomness left), so
running it again with the pinned requirements.txt rewrites the same bytes.

    python -m venv .venv && .venv/bin/pip install -r examples/train/requirements.txt
    .venv/bin/python examples/train/train.py            # train and write
    .venv/bin/python examples/train/train.py --check    # also reload both files and compare

The model files change, so sign them again afterwards (see
examples/keys/README.md), or `mlsec check examples/` denies them (MLP002).
"""

import argparse
import hashlib
import sys
from importlib import metadata
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType

EXAMPLES = Path(__file__).resolve().parent.parent
DATA = EXAMPLES / "data" / "penguins.csv"
OUT = EXAMPLES / "models" / "species-classifier"

FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
TARGET = "species"
CLASSES = ["Adelie", "Chinstrap", "Gentoo"]
SEED = 0
# The ai.onnx operator set, pinned so a newer skl2onnx does not silently raise
# it (onnxruntime 1.14 and later run 17); for ai.onnx.ml the converter picks
# the lowest version its operators need (1 for this pipeline).
OPSET = 17
# The packages whose versions a user needs to load the files.
RUNTIME = ["scikit-learn", "numpy", "scipy", "joblib", "onnxruntime"]


def load():
    """The table without the two rows that have no measurement at all."""
    table = pd.read_csv(DATA)
    table = table.dropna(subset=FEATURES, how="all")
    return table[FEATURES], table[TARGET]


def write_split(x_train, x_test):
    """Each side of the split as the header and its rows of penguins.csv,
    byte for byte, in file order (pandas' index is the row's position)."""
    header, *rows = DATA.read_bytes().decode().splitlines(keepends=True)
    for name, part in (("penguins-train.csv", x_train), ("penguins-holdout.csv", x_test)):
        lines = [header] + [rows[i] for i in sorted(part.index)]
        write(DATA.parent / name, "".join(lines).encode())


def train(x, y):
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, stratify=y, random_state=SEED
    )
    write_split(x_train, x_test)
    pipeline = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(C=1.0, max_iter=1000)),
        ]
    )
    pipeline.fit(x_train, y_train)
    return pipeline, x_test, y_test


def to_onnx(pipeline):
    onx = convert_sklearn(
        pipeline,
        name="species-classifier",
        initial_types=[("measurements", FloatTensorType([None, len(FEATURES)]))],
        options={id(pipeline.named_steps["classify"]): {"zipmap": False}},
        target_opset=OPSET,
    )
    # skl2onnx 1.20 lists the default domain twice in opset_import; keep one
    # entry per domain so the file says each version once.
    seen = {}
    for entry in onx.opset_import:
        seen.setdefault(entry.domain, entry.version)
    del onx.opset_import[:]
    for domain, version in seen.items():
        onx.opset_import.add(domain=domain, version=version)
    onx.doc_string = (
        "Palmer penguin species from four body measurements. Input `measurements`: "
        f"float32 [N, {len(FEATURES)}], columns {', '.join(FEATURES)}. Outputs "
        f"`label` (string [N]) and `probabilities` (float32 [N, {len(CLASSES)}], "
        f"columns {', '.join(CLASSES)})."
    )
    return onx


def write(path, data):
    path.write_bytes(data)
    print(f"wrote {path.relative_to(EXAMPLES.parent)} ({len(data)} bytes, "
          f"sha256 {hashlib.sha256(data).hexdigest()[:16]}...)")


def requirements():
    lines = [
        "# What loads model.joblib (scikit-learn, numpy, scipy, joblib at these exact",
        "# versions: a pickle of another version may fail or behave differently) and",
        "# model.onnx (onnxruntime). Written by examples/train/train.py.",
    ]
    lines += [f"{name}=={metadata.version(name)}" for name in RUNTIME]
    return ("\n".join(lines) + "\n").encode()


def check(x_test, expected):
    """Compares the bundled table with the one the palmerpenguins package ships,
    then loads both written files back and compares their predictions."""
    from importlib import resources

    import onnxruntime as ort

    shipped = resources.files("palmerpenguins").joinpath("data/penguins.csv").read_bytes()
    assert DATA.read_bytes() == shipped, f"{DATA} is not palmerpenguins' penguins.csv"
    print(f"check: {DATA.relative_to(EXAMPLES.parent)} is palmerpenguins "
          f"{metadata.version('palmerpenguins')}'s data/penguins.csv")

    pipeline = joblib.load(OUT / "model.joblib")
    labels = pipeline.predict(x_test)
    probs = pipeline.predict_proba(x_test)
    assert list(pipeline.classes_) == CLASSES, pipeline.classes_
    assert (labels == expected).all(), "model.joblib predicts differently after reloading"

    session = ort.InferenceSession(
        str(OUT / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    names = [i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()]
    assert names == (["measurements"], ["label", "probabilities"]), names
    onnx_labels, onnx_probs = session.run(
        None, {"measurements": x_test.to_numpy(dtype=np.float32)}
    )
    assert onnx_probs.shape == (len(x_test), len(CLASSES)), onnx_probs.shape
    assert (onnx_labels == labels).all(), "model.onnx and model.joblib disagree on a label"
    gap = float(np.abs(onnx_probs - probs).max())
    assert gap < 1e-4, f"probabilities differ by {gap}"
    # A missing measurement is imputed the same way by both.
    row = x_test.iloc[:1].copy()
    row.iloc[0, 0] = np.nan
    onnx_row = session.run(None, {"measurements": row.to_numpy(dtype=np.float32)})[0]
    assert (onnx_row == pipeline.predict(row)).all(), "a NaN input is handled differently"
    print(f"check: model.joblib and model.onnx reload and agree on all {len(x_test)} "
          f"held-out rows (largest probability gap {gap:.1e})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="reload both files and compare their predictions")
    args = parser.parse_args()

    x, y = load()
    pipeline, x_test, y_test = train(x, y)
    predicted = pipeline.predict(x_test)
    accuracy = accuracy_score(y_test, predicted)
    print(f"{len(x)} rows, {len(x) - len(x_test)} to train, {len(x_test)} held out; "
          f"held-out accuracy {accuracy:.4f}")
    assert list(pipeline.classes_) == CLASSES, pipeline.classes_

    OUT.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, OUT / "model.joblib")
    print(f"wrote {(OUT / 'model.joblib').relative_to(EXAMPLES.parent)} "
          f"({(OUT / 'model.joblib').stat().st_size} bytes)")
    write(OUT / "model.onnx", to_onnx(pipeline).SerializeToString())
    write(OUT / "requirements.txt", requirements())

    if args.check:
        check(x_test, predicted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
