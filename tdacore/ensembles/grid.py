"""Ensemble kinds, their grid points and members (Eq. 1, Eq. 2, Section 3.3, Appendix F).

A member is one function whose per-member file a grid point reads: base model i (or one of its
intermediate checkpoints), under dropout pass d (d = 0: unmasked), with the projection seed of
pass d. The kinds:

    naive            (I)     pass 0 of models 0..I-1
    dropout          (I, D)  passes 1..D of each of models 0..I-1
    forward_only     (I, D)  TRAK only: kernels from pass 0 of models 0..I-1, Q from their
                             masked passes 1..D (Section 3.3, the formula after Eq. 2 as written)
    forward_only_shared (I, D)  TRAK only: kernels from each model's unmasked gradients projected
                             with pass d's seed, d = 1..D (the gradients shared, Appendix E), Q
                             from the masked passes 1..D: the reading that reproduces the paper
    projection_only  (I, D)  TRAK only: passes 1..D of each model with dropout *disabled*, each
                             with pass d's projection seed (Appendix F.1, Table 1)
    checkpoints      (I, C, D)  the last C saved checkpoints of each of models 0..I-1 (the last is
                             the final model), pass 0 when D = 0, else passes 1..D (Appendix F.2)
    lora             (I, L)  adapters 1..L of each of models 0..I-1, unmasked (Section 3.4)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ENSEMBLES = ("naive", "dropout", "forward_only", "forward_only_shared", "projection_only", "checkpoints", "lora")
TRAK_ONLY = ("forward_only", "forward_only_shared", "projection_only")  # kinds defined by TRAK's projection / its Q
FORWARD_ONLY = ("forward_only", "forward_only_shared")  # Q from masked passes computed apart


@dataclass(frozen=True)
class Member:
    model: int
    dropout_pass: int = 0  # d: the seed index of the mask and of the projection (0: no mask)
    epoch: int | None = None  # an intermediate checkpoint of model i; None: the final model
    projection_only: bool = False  # pass d's projection seed, no mask (Appendix F.1)
    adapter: int | None = None  # LoRA adapter l >= 1 of model i (Section 3.4); None: no adapter

    def __post_init__(self) -> None:
        if self.adapter is not None and (self.epoch is not None or self.dropout_pass or self.adapter < 1):
            raise ValueError(
                f"adapter {self.adapter} of model {self.model}: adapters are numbered from 1 and are unmasked "
                "final-model members"
            )

    @property
    def masked(self) -> bool:
        return self.dropout_pass > 0 and not self.projection_only

    @property
    def model_tag(self) -> str:
        """The model file's stem: `{i}` (final model), `{i}-epoch{e}` (checkpoint) or `{i}-lora{l}`
        (adapter l of model i)."""
        if self.adapter is not None:
            return f"{self.model}-lora{self.adapter}"
        return f"{self.model}" if self.epoch is None else f"{self.model}-epoch{self.epoch}"

    @property
    def variant(self) -> str:
        """`d{d}`: dropout pass d; `p{d}`: projection seed of pass d, no mask."""
        return f"{'p' if self.projection_only else 'd'}{self.dropout_pass}"

    @property
    def stem(self) -> str:
        """Relative path of the member's files: `{model_tag}/{variant}`."""
        return f"{self.model_tag}/{self.variant}"


_MODEL_TAG = re.compile(r"(?P<i>[0-9]+)(-epoch(?P<e>[1-9][0-9]*)|-lora(?P<l>[1-9][0-9]*))?")
_VARIANT = re.compile(r"(?P<kind>[dp])(?P<d>[0-9]+)")


def parse_member(model_tag: str, variant: str) -> Member:
    """Inverse of Member.model_tag / Member.variant; errors name the offending string."""
    model, var = _MODEL_TAG.fullmatch(model_tag), _VARIANT.fullmatch(variant)
    if model is None:
        raise ValueError(f"'{model_tag}' is not a model tag ({{i}}, {{i}}-epoch{{e}} or {{i}}-lora{{l}})")
    if var is None or (var["kind"] == "p" and int(var["d"]) == 0):
        raise ValueError(f"'{variant}' is not a member variant (d{{d}}, or p{{d}} with d >= 1)")
    epoch = int(model["e"]) if model["e"] else None
    adapter = int(model["l"]) if model["l"] else None
    return Member(int(model["i"]), int(var["d"]), epoch, var["kind"] == "p", adapter)


@dataclass(frozen=True)
class GridPoint:
    ensemble: str
    n_models: int  # I
    n_passes: int = 0  # D (0: the unmasked pass only)
    epochs: tuple[int, ...] = field(default=())  # checkpoints: the C epochs used; the last is the final model
    n_adapters: int = 0  # L: LoRA adapters per model (lora only)

    def __post_init__(self) -> None:
        if self.ensemble not in ENSEMBLES:
            raise ValueError(f"unknown ensemble '{self.ensemble}' (known: {', '.join(ENSEMBLES)})")
        if (self.ensemble == "lora") != (self.n_adapters >= 1) or (self.ensemble == "lora" and self.n_passes):
            raise ValueError(
                f"{self.ensemble}: L = {self.n_adapters}, D = {self.n_passes}; the lora ensemble needs L >= 1 and no "
                "D, the others no L"
            )
        if (self.ensemble == "checkpoints") != bool(self.epochs):
            raise ValueError(f"{self.ensemble}: checkpoint epochs {self.epochs} are for the checkpoints ensemble only")
        if self.ensemble in ("dropout", *TRAK_ONLY) and self.n_passes < 1:
            raise ValueError(f"{self.ensemble} needs D >= 1, got {self.n_passes}")

    @property
    def n_checkpoints(self) -> int:
        return len(self.epochs)

    @property
    def name(self) -> str:
        """`I{I}`, `I{I}-D{D}`, `I{I}-C{C}`, `I{I}-C{C}-D{D}` or `I{I}-L{L}`."""
        name = f"I{self.n_models}"
        if self.ensemble == "checkpoints":
            name += f"-C{self.n_checkpoints}"
        if self.ensemble == "lora":
            name += f"-L{self.n_adapters}"
        return name + (f"-D{self.n_passes}" if self.n_passes else "")

    def _passes(self) -> range:
        return range(1, self.n_passes + 1) if self.n_passes else range(0, 1)

    def members(self) -> list[Member]:
        """The members whose per-member files (TRAK: features; other methods: scores) the point
        combines; for the forward-only kinds the kernel side, see q_members."""
        models = range(self.n_models)
        if self.ensemble in ("naive", "forward_only"):
            return [Member(i) for i in models]
        if self.ensemble == "dropout":
            return [Member(i, d) for i in models for d in self._passes()]
        if self.ensemble in ("projection_only", "forward_only_shared"):
            return [Member(i, d, projection_only=True) for i in models for d in self._passes()]
        if self.ensemble == "lora":
            return [Member(i, adapter=l) for i in models for l in range(1, self.n_adapters + 1)]
        final = self.epochs[-1]
        return [Member(i, d, None if e == final else e) for i in models for e in self.epochs for d in self._passes()]

    def q_members(self) -> list[Member]:
        """The members whose Q enters Eq. 2: the masked passes for forward-only kinds, else members()."""
        if self.ensemble in FORWARD_ONLY:
            return [Member(i, d) for i in range(self.n_models) for d in self._passes()]
        return self.members()


_POINT = re.compile(r"I(?P<I>[1-9][0-9]*)(-C(?P<C>[1-9][0-9]*)|-L(?P<L>[1-9][0-9]*))?(-D(?P<D>[1-9][0-9]*))?")


def parse_point(ensemble: str, name: str, checkpoints: Sequence[int] = ()) -> GridPoint:
    """Inverse of GridPoint.name; `checkpoints` is the configured list of saved epochs (the last
    the final one), of which a checkpoints point uses the last C. Errors name the string."""
    match = _POINT.fullmatch(name)
    needs_d = {"naive": False, "lora": False, "checkpoints": None}.get(ensemble, True)  # None: optional
    if (
        match is None
        or (match["C"] is not None) != (ensemble == "checkpoints")
        or (match["L"] is not None) != (ensemble == "lora")
        or (needs_d is not None and (match["D"] is not None) != needs_d)
    ):
        raise ValueError(f"'{name}' is not a grid point name of the {ensemble} ensemble")
    n_checkpoints = int(match["C"] or 0)
    if n_checkpoints > len(checkpoints):
        raise ValueError(f"'{name}' uses {n_checkpoints} checkpoints but only {list(checkpoints)} are saved")
    return GridPoint(
        ensemble, int(match["I"]), int(match["D"] or 0), _last(checkpoints, n_checkpoints), int(match["L"] or 0)
    )


def _last(checkpoints: Sequence[int], n: int) -> tuple[int, ...]:
    """The last n saved epochs (the last of which is the final model); () for n = 0."""
    return tuple(checkpoints[len(checkpoints) - n :]) if n else ()


def grid(ensembles: dict[str, Any], checkpoints: Sequence[int] = ()) -> list[GridPoint]:
    """Every grid point the config's `ensembles` section asks for (checkpoints: the configured
    `train.checkpoints`, of which a point uses the last C)."""
    points = [GridPoint("naive", i) for i in ensembles.get("naive", {}).get("I", [])]
    for kind in ("dropout", *TRAK_ONLY):
        section = ensembles.get(kind, {})
        points += [GridPoint(kind, i, d) for i in section.get("I", []) for d in section.get("D", [])]
    section = ensembles.get("checkpoints", {})
    for c in section.get("C", []):
        if c > len(checkpoints):
            raise ValueError(
                f"ensembles.checkpoints.C = {c} exceeds the {len(checkpoints)} epochs of train.checkpoints "
                f"{list(checkpoints)}"
            )
        points += [
            GridPoint("checkpoints", i, d, _last(checkpoints, c))
            for i in section.get("I", [])
            for d in section.get("D", [])
        ]
    section = ensembles.get("lora", {})
    points += [GridPoint("lora", i, n_adapters=l) for i in section.get("I", []) for l in section.get("L", [])]
    return points


def point_columns(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The columns that name a grid point in results and tables, from its scores file's
    attributes: ensemble kind, I, D, C, L and the number of members."""
    return {key: attrs[key] for key in ("ensemble", "I", "D", "C", "L")} | {"members": len(attrs["members"])}


def label(row: Mapping[str, Any]) -> str:
    """A grid point's short name in tables and legends, e.g. `dropout I=1 D=10`."""
    parts = [row["ensemble"], f"I={row['I']}"]
    if int(row.get("C", 0)):
        parts.append(f"C={row['C']}")
    if int(row.get("L", 0)):
        parts.append(f"L={row['L']}")
    if int(row["D"]):
        parts.append(f"D={row['D']}")
    return " ".join(parts)


def sort_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows by method, ensemble kind (in the order of ENSEMBLES, the paper's), C, L, D, I."""

    def key(row: Mapping[str, Any]) -> tuple:
        kind = ENSEMBLES.index(row["ensemble"]) if row["ensemble"] in ENSEMBLES else len(ENSEMBLES)
        return (
            row["method"],
            kind,
            row["ensemble"],
            int(row.get("C", 0)),
            int(row.get("L", 0)),
            int(row["D"]),
            int(row["I"]),
        )

    return sorted((dict(r) for r in rows), key=key)
