"""Writes the Keras / HDF5 fixtures in this folder with the real libraries.

Run from this folder with Keras 3 (any backend), h5py and numpy installed:
    KERAS_BACKEND=jax python make_fixtures.py
Made with Keras 3.15.1, h5py 3.16 (HDF5 2.0), jax backend.

Not written here: tracked_order_sequential.h5 and tracked_order_lambda.h5 are
copies of fixtures/keras/sequential.h5 and lambda_layer.h5 (Keras 2.13 layout
written by fixtures/make_fixtures.py through h5py with track_order=True);
tracked_order_*_model_config.json hold their model_config as h5py reads it.
"""
import json
import os
import zipfile

os.environ.setdefault("KERAS_BACKEND", "jax")
import h5py
import keras
import numpy as np


def keras_config(model, name):
    """Saves `model` as .keras and keeps only its config.json."""
    model.save("tmp.keras")
    with zipfile.ZipFile("tmp.keras") as z:
        config = z.read("config.json")
    os.remove("tmp.keras")
    with open(name, "wb") as f:
        f.write(config)


def sequential():
    m = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)]
    )
    m.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return m


def functional():
    x = keras.Input((4,), name="features")
    h = keras.layers.Dense(3, activation="relu")(x)
    h = keras.layers.Dropout(0.1)(h)
    y = keras.layers.Dense(2, activation="softmax")(h)
    m = keras.Model(x, y)
    m.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )
    return m


def with_lambda():
    m = keras.Sequential(
        [keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2.0), keras.layers.Dense(1)]
    )
    m.compile(optimizer="adam", loss="mse")
    return m


keras_config(sequential(), "sequential_config.json")
keras_config(functional(), "functional_config.json")
keras_config(with_lambda(), "lambda_config.json")

# Legacy H5 (Keras' own writer): model_config as a variable-length string.
sequential().save("sequential.h5")
with_lambda().save("lambda.h5")

# The same architecture as older Keras with h5py 2 wrote it: fixed-length
# string attributes; and the new-format layout (superblock v3, OHDR headers);
# and a 512-byte user block before the superblock.
with h5py.File("sequential.h5") as src:
    config = src.attrs["model_config"]
    config = config.encode() if isinstance(config, str) else config
with h5py.File("fixed_string.h5", "w") as f:
    f.attrs["keras_version"] = np.bytes_(b"2.2.4")
    f.attrs["backend"] = np.bytes_(b"tensorflow")
    f.attrs["model_config"] = np.bytes_(config)
with h5py.File("new_format.h5", "w", libver="latest") as f:
    f.attrs["backend"] = "tensorflow"
    f.attrs["model_config"] = config.decode()
with h5py.File("user_block.h5", "w", userblock_size=512) as f:
    f.attrs["model_config"] = config.decode()
# Root attributes in dense storage (more than 8 with the new format): the
# reader refuses these explicitly.
with h5py.File("dense_attrs.h5", "w", libver="latest") as f:
    f.attrs["model_config"] = config.decode()
    for i in range(10):
        f.attrs[f"extra{i}"] = i
# Plain HDF5 data, no Keras model.
with h5py.File("plain.h5", "w") as f:
    f.attrs["title"] = "measurements"
    f.create_dataset("x", data=np.arange(4, dtype="f4"))
print(json.dumps(sorted(os.listdir("."))))
