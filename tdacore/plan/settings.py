"""The config's sections as frozen dataclasses, each read from its (schema-checked) mapping by
from_config: what a job's settings are, typed, with the defaults the schema documents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tdacore.attribution.projection.spec import Projection
from tdacore.infra.references import Reference
from tdacore.models.registry import model_options, model_reference, outputs_reference

__all__ = ["Influence", "Lora", "Model", "Optimiser", "Projection", "Selection"]


@dataclass(frozen=True)
class Model:
    """model: the factory that builds it, a built-in architecture (`name`, tdacore.models.registry)
    or a researcher's own (`factory`, "module:function"), and the options it passes (hidden sizes,
    widths, layers, dropout rate, ...), and the trained models a researcher brings as base models
    0, 1, ... instead of training them (`checkpoints`: files of state dicts), and a researcher's
    model-output functions f, Q and the loss (`outputs`) in place of the data task's."""

    factory: Reference
    options: Mapping[str, Any] = field(default_factory=dict)
    checkpoints: tuple[str, ...] = ()
    outputs: Reference | None = None  # a researcher's model-output functions (tdacore.models.outputs)

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Model:
        return cls(
            model_reference(section),
            model_options(section),
            tuple(section.get("checkpoints", ())),
            outputs_reference(section),
        )


@dataclass(frozen=True)
class Optimiser:
    """train: how base models train (Appendix B), the share of the training data each trains on
    (TRAK's halves, Appendix A) and the epochs saved as checkpoints (Appendix F.2; the last is the
    final model)."""

    epochs: int
    lr: float
    batch_size: int
    base_fraction: float
    checkpoints: tuple[int, ...]
    optimizer: str = "sgd"
    momentum: float | None = None
    betas: tuple[float, float] | None = None

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Optimiser:
        checkpoints = tuple(section.get("checkpoints", [section["epochs"]]))
        if list(checkpoints) != sorted(set(checkpoints)) or checkpoints[-1] != section["epochs"]:
            raise ValueError(
                f"train.checkpoints = {list(checkpoints)}: list distinct epochs in increasing order, ending with "
                f"train.epochs = {section['epochs']} (the final model)"
            )
        betas = tuple(section["betas"]) if "betas" in section else None
        return cls(
            section["epochs"],
            section["lr"],
            section["batch_size"],
            section["base_fraction"],
            checkpoints,
            section.get("optimizer", "sgd"),
            section.get("momentum"),
            betas,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class Influence:
    """influence: IF's (C + lambda I)^{-1} by conjugate gradients (tdacore.attribution.methods)."""

    damping: float
    shift_negative_curvature: bool
    rtol: float
    max_iter: int

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Influence:
        return cls(**section)


@dataclass(frozen=True)
class Lora:
    """lora: the adapters of a LoRA Ensemble (Section 3.4, Appendix C.2), each fine-tuned from base
    model i's checkpoint at base_epoch on its own random `fraction` of the training set."""

    base_epoch: int
    rank: int
    alpha: float
    target_modules: tuple[str, ...]
    bias: str
    fraction: float
    epochs: int
    lr: float | None = None  # default: train.lr

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Lora:
        return cls(**{**section, "target_modules": tuple(section["target_modules"])})


@dataclass(frozen=True)
class Storage:
    """featurize and scores: TRAK's training set in shards (featurize.shard_size, None: one
    featurize job per member) and the storage dtypes of features and scores
    (tdacore.infra.precision); with shards, what a grid point's score file keeps (the whole
    matrix up to full_max entries, else the top_k proponents and opponents and the LDS's subset
    predictions) and the test rows a scoring job holds at once (test_block)."""

    shard_size: int | None = None
    feature_dtype: str = "float32"
    scores_dtype: str = "float32"
    full_max: int = 25_000_000
    top_k: int = 10
    test_block: int = 1024

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Storage:
        featurize, scores = config.get("featurize") or {}, config.get("scores") or {}
        defaults = cls()
        return cls(
            shard_size=featurize.get("shard_size"),
            feature_dtype=featurize.get("dtype", defaults.feature_dtype),
            scores_dtype=scores.get("dtype", defaults.scores_dtype),
            full_max=scores.get("full_max", defaults.full_max),
            top_k=scores.get("top_k", defaults.top_k),
            test_block=scores.get("test_block", defaults.test_block),
        )


@dataclass(frozen=True)
class Selection:
    """selection: the seeded split of each method's scored test examples into a selection part
    (`fraction`) and a report part (tdacore.evaluation.selection)."""

    fraction: float = 0.5
    seed: int = 0

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> Selection:
        return cls(**(section or {}))
