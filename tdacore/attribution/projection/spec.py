"""The projection a config names (trak.projection) as a frozen dataclass. Torch-free: the
workflow's plan reads it while it plans the DAG."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PROJECTION_KINDS = ("gaussian", "sjlt", "factorised", "identity")
GRADIENT_PROJECTORS = ("gaussian", "sjlt")  # what a factorised projection's rest may be


@dataclass(frozen=True)
class Projection:
    """TRAK's random projection of per-sample gradients (Eq. 2's P): `kind` (gaussian, sjlt,
    factorised or identity) to `dim` dimensions, with the options of its kind."""

    kind: str
    dim: int
    nonzeros: int = 1  # sjlt (and a factorised projection's sjlt rest): signed nonzeros per parameter
    rest: str = "sjlt"  # factorised: the projector of the parameters outside linear layers
    draw: int = 0  # 0: each member's projection seed; n > 0: the n-th other independent draw
    cache_mb: int = 4096  # gaussian: keep the whole P in memory up to this size, else redraw blocks

    def __post_init__(self) -> None:
        if self.kind not in PROJECTION_KINDS:
            raise ValueError(f"trak.projection.kind: unknown kind '{self.kind}' (known: {', '.join(PROJECTION_KINDS)})")
        if self.rest not in GRADIENT_PROJECTORS:
            raise ValueError(
                f"trak.projection.rest: '{self.rest}' is not a gradient projector ({', '.join(GRADIENT_PROJECTORS)})"
            )

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Projection:
        """From config trak.projection (a job's `projection` parameter)."""
        return cls(**section)
