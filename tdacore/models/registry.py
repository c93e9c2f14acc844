"""The architectures a config can name (model.name). No imports, so that the workflow can read
it while it plans (no torch)."""

from __future__ import annotations

# Each architecture (model.name) as "module:function", function(spec, in_dim, n_classes) ->
# nn.Module: imported by name when a model is built (tdacore.models.build), so that a job imports, and
# the workflow tracks, only the configured architecture's module.
ARCHITECTURES = {
    "mlp": "tdacore.models.mlp:build",
    "resnet9": "tdacore.models.resnet:build",
    "music_transformer": "tdacore.models.music_transformer:build",
    "gpt": "tdacore.models.gpt:build",
}


def architecture_factory(name: str) -> tuple[str, str]:
    """(module, function) that builds architecture `name` (ARCHITECTURES)."""
    if name not in ARCHITECTURES:
        raise ValueError(f"model.name: unknown architecture '{name}' (known: {sorted(ARCHITECTURES)})")
    module, _, function = ARCHITECTURES[name].partition(":")
    return module, function
