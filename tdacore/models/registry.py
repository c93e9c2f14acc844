"""The architectures a config can name (model.name) and the factory a model config resolves to.
Torch-free, so that the workflow can read it while it plans.

A built-in architecture is a factory like any a researcher brings (model.factory): a function
of the `model` section's options (hidden sizes, dropout, ...) and of the data's sizes it names
(in_dim, input_shape, n_classes) that returns an `nn.Module` (tdacore.models.build).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tdacore.infra.references import Reference, parse_reference

ARCHITECTURES = {
    "mlp": "tdacore.models.mlp:build",
    "resnet9": "tdacore.models.resnet:build",
    "music_transformer": "tdacore.models.music_transformer:build",
    "gpt": "tdacore.models.gpt:build",
}
# Keys of the `model` section that say which model and what of it is attributed, not how to build it.
NOT_OPTIONS = ("name", "factory", "checkpoints", "outputs")


def model_reference(spec: Mapping[str, Any]) -> Reference:
    """The factory of a `model` section: model.factory, or the built-in architecture model.name."""
    if "factory" in spec:
        return parse_reference(spec["factory"], "model.factory")
    if spec.get("name") not in ARCHITECTURES:
        raise ValueError(
            f"model.name: unknown architecture '{spec.get('name')}' (known: {sorted(ARCHITECTURES)}; "
            "or give model.factory: 'module:function')"
        )
    return parse_reference(ARCHITECTURES[spec["name"]], "model.name")


def outputs_reference(spec: Mapping[str, Any]) -> Reference | None:
    """model.outputs: a researcher's model-output functions (tdacore.models.outputs.model_outputs),
    or None for those of the data's task."""
    return parse_reference(spec["outputs"], "model.outputs") if "outputs" in spec else None


def model_options(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The options a `model` section passes to its factory."""
    return {key: value for key, value in spec.items() if key not in NOT_OPTIONS}


def model_label(spec: Mapping[str, Any]) -> str:
    """A model's name in messages and tables: the architecture, or the factory's reference."""
    return spec["name"] if "name" in spec else str(spec["factory"])
