"""plan_from_config: a schema-checked config read once into a Plan, i.e. its typed sections, the
readings of each method with their ensemble grids (per_method), the sweeps' expansion into
readings (tdacore.evaluation.sweeps), Section 5's variance decompositions (Lemma 5.1), and the
sets of models the grids need; with every check that spans sections, each naming the key at
fault. Pure and torch-free: the workflow derives its jobs from the Plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tdacore.attribution.registry import ALL_CHOICES, METHODS, Method
from tdacore.attribution.ridge import Ridge
from tdacore.attribution.shards import shard_slices
from tdacore.data.sources import data_reference
from tdacore.ensembles.grid import TRAK_ONLY, GridPoint, grid
from tdacore.evaluation.sweeps import grid_readings
from tdacore.infra.references import Reference
from tdacore.plan.settings import Influence, Lora, Model, Optimiser, Projection, Selection, Storage

TWO_STEP = ("dropout", "lora")  # the ensemble kinds whose members are K groups x D (or L) variants


@dataclass(frozen=True)
class Reading:
    """One name in `methods`: a method (Appendix A) or a reading of it named in per_method with
    `method:` and its choices; its results, tables and figures are kept apart by name."""

    name: str
    method: Method
    overrides: Mapping[str, Any]  # its per_method entry
    ridge: Ridge | None  # TRAK: the kernels' ridge; others: None
    choices: Mapping[str, Any]  # others: what its member_scores jobs run with; TRAK: none
    base_fraction: float  # its base models' share of the training data
    mask_mode: str  # how its dropout passes draw masks: fixed or per_example
    test_examples: int  # it scores the first n test examples
    grid: tuple[GridPoint, ...]  # its ensemble grid

    @property
    def kernels(self) -> bool:
        """Whether its ensembles average member kernels (TRAK) rather than member scores."""
        return self.method.kernels


@dataclass(frozen=True)
class Sweep:
    """Readings of one method compared per grid point on the selection part of their scored test
    examples (tdacore.evaluation.selection), with the setting each names and the points they share."""

    name: str
    readings: tuple[str, ...]
    settings: Mapping[str, str]
    points: tuple[GridPoint, ...]


@dataclass(frozen=True)
class TheoryPlan:
    """Lemma 5.1 on the scores a grid already has, for one method and two-step kind: the largest
    member sets, i.e. `groups` base models x `variants` passes (or adapters), the naive `sizes`
    and the two-step grid's (I, D) `points`."""

    groups: int
    variants: int
    sizes: tuple[int, ...]
    points: tuple[tuple[int, int], ...]

    def members(self, kind: str) -> tuple[GridPoint, GridPoint]:
        """The naive point of the largest size and the two-step point of groups x variants."""
        size = {"n_passes": self.variants} if kind == "dropout" else {"n_adapters": self.variants}
        return GridPoint("naive", self.sizes[-1]), GridPoint(kind, self.groups, **size)


@dataclass(frozen=True)
class Plan:
    """What one config asks for, typed and checked."""

    experiment: str
    seed: int
    device: str
    threads: int
    data: Mapping[str, Any]
    data_loader: Reference  # the loader of the data: a built-in source's or a researcher's
    model: Model
    optimiser: Optimiser
    projection: Projection
    influence: Influence
    lora: Lora | None
    selection: Selection
    dropout_masks: str  # how dropout passes draw masks where a reading does not say: fixed or per_example
    trak_test_examples: int  # the test examples TRAK's features cover (every TRAK reading shares them)
    readings: Mapping[str, Reading]
    sweeps: Mapping[str, Sweep]
    theory: Mapping[tuple[str, str], TheoryPlan]
    lora_models: tuple[int, ...]  # base models that LoRA adapters adapt
    checkpointed_models: tuple[int, ...]  # base models whose training saves intermediate checkpoints
    projection_passes: int  # projection passes p1..pP of each model that needs any
    ridges: tuple[Ridge, ...]  # every ridge a TRAK reading uses (one kernel per member and ridge)
    scores_only: bool = False  # lds: null: no LDS ground truth, the scores are the product
    storage: Storage = Storage()  # featurize and scores: shards and storage dtypes

    @property
    def shards(self) -> tuple[slice, ...]:
        """TRAK's training shards (featurize.shard_size; none when unsharded): the rows of part s{k}."""
        if self.storage.shard_size is None:
            return ()
        return tuple(shard_slices(self.data["n_train"], self.storage.shard_size))

    @property
    def results(self) -> str:
        return f"results/{self.experiment}"

    @property
    def methods(self) -> list[str]:
        return list(self.readings)

    @property
    def checkpoints(self) -> tuple[int, ...]:
        return self.optimiser.checkpoints

    @property
    def kinds(self) -> set[str]:
        """Every ensemble kind some reading's grid has."""
        return {point.ensemble for reading in self.readings.values() for point in reading.grid}


def _ridge(name: str, entry: Mapping[str, Any], trak: Mapping[str, Any]) -> Ridge:
    """A TRAK reading's ridge: its own ridge or ridge_relative (either replaces trak's pair), else
    trak.ridge / trak.ridge_relative."""
    pair = entry if {"ridge", "ridge_relative"} & set(entry) else trak
    try:
        return Ridge(pair.get("ridge", 0.0), pair.get("ridge_relative", 0.0))
    except ValueError as err:
        raise ValueError(f"{f'per_method.{name}' if pair is entry else 'trak'}: {err}") from None


def _expand_sweeps(
    config: Mapping[str, Any], methods: list[str], per_method: dict[str, dict]
) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each sweep's readings and the setting each names; a grid sweep's new readings are added to
    `methods` and `per_method` (named <base>_<key><value>)."""
    sweeps = {}
    for sweep, spec in (config.get("sweeps") or {}).items():
        if isinstance(spec, list):
            sweeps[sweep] = (list(spec), {reading: reading for reading in spec})
            continue
        base = spec["reading"]
        if base not in methods:
            raise ValueError(f"sweeps.{sweep}.reading: '{base}' is not in methods {methods}")
        mine = per_method.get(base, {})

        def is_base(path: tuple[str, ...], value: float, base: str = base, mine: dict = mine) -> bool:
            if path[0] in ("ridge", "ridge_relative"):
                own = Ridge(**{("absolute" if path[0] == "ridge" else "relative"): value})
                return _ridge(base, mine, config["trak"]) == own
            return {**config[path[0]], **mine.get(path[0], {})}[path[1]] == value

        readings = grid_readings(sweep, spec, is_base)
        for name, overrides, _ in readings:
            if overrides is not None:
                entry = {**mine, "method": mine.get("method", base)}
                for key, value in overrides.items():
                    entry[key] = {**entry.get(key, {}), **value} if isinstance(value, dict) else value
                per_method[name] = entry
                methods += [] if name in methods else [name]
        sweeps[sweep] = ([name for name, _, _ in readings], {name: setting for name, _, setting in readings})
    return sweeps


def _check_entries(config: Mapping[str, Any], methods: list[str], per_method: dict[str, dict]) -> dict[str, Method]:
    """Each name's method, after checking that its per_method entry applies to that method."""
    algorithm = {}
    for name in methods:
        entry = per_method.get(name, {})
        if entry.get("method", name) not in METHODS:
            raise ValueError(
                f"methods: '{name}' is neither a method ({', '.join(METHODS)}) nor named in per_method with `method:`"
            )
        algorithm[name] = METHODS[entry.get("method", name)]
        trak_tests = per_method.get("trak", {}).get("test_examples", config["data"]["n_test"])
        if algorithm[name].kernels and entry.get("test_examples") not in (None, trak_tests):
            raise ValueError(
                f"per_method.{name}.test_examples: a TRAK reading scores trak's test examples (it shares trak's "
                "features)"
            )
        foreign = set(entry) & (ALL_CHOICES - algorithm[name].choices)
        if foreign:
            raise ValueError(f"per_method.{name}: {sorted(foreign)} do not apply to {algorithm[name].name}")
    for name, entry in per_method.items():  # a base method's entry that is not run (an overlay's base's) is ignored
        if name not in methods and name not in METHODS:
            raise ValueError(f"per_method.{name}: '{name}' is not in methods {methods}")
        if entry.get("test_examples", 0) > config["data"]["n_test"]:
            raise ValueError(
                f"per_method.{name}.test_examples = {entry['test_examples']} exceeds data.n_test = "
                f"{config['data']['n_test']}"
            )
    return algorithm


def _grid(
    name: str, method: Method, entry: Mapping[str, Any], config: Mapping[str, Any], checkpoints: tuple[int, ...]
) -> tuple[GridPoint, ...]:
    """A reading's grid: per_method.<name>.ensembles where given, else `ensembles`."""
    ensembles = entry.get("ensembles", config["ensembles"])
    where = f"per_method.{name}.ensembles" if "ensembles" in entry else "ensembles"
    for kind in TRAK_ONLY:
        if not method.kernels and kind in ensembles:
            raise ValueError(
                f"{where}.{kind}: the {kind} ensemble exists for TRAK only, but {name} would use it "
                f"(give {name} its own grid in per_method.{name}.ensembles)"
            )
    points = tuple(grid(ensembles, checkpoints))
    if "base_fraction" in entry and {"checkpoints", "lora"} & {point.ensemble for point in points}:
        raise ValueError(
            f"per_method.{name}.base_fraction: its own base models have no checkpoints or adapters (drop those grids)"
        )
    return points


def _reading(
    name: str,
    method: Method,
    entry: Mapping[str, Any],
    config: Mapping[str, Any],
    points: tuple[GridPoint, ...],
    trak_entry: Mapping[str, Any],
) -> Reading:
    """A reading with its choices resolved against the shared settings."""
    if method.name == "if":
        choices = {**config["influence"], **entry.get("influence", {}), "curvature": entry.get("curvature", "hessian")}
    elif method.kernels:
        choices = {}
    else:
        choices = {"gradient": entry.get("gradient", "margin")}
    return Reading(
        name=name,
        method=method,
        overrides=entry,
        ridge=_ridge(name, entry, config["trak"]) if method.kernels else None,
        choices=choices,
        base_fraction=entry.get("base_fraction", config["train"]["base_fraction"]),
        mask_mode=entry.get("dropout_masks", config.get("dropout_masks", "fixed")),
        test_examples=(trak_entry if method.kernels else entry).get("test_examples", config["data"]["n_test"]),
        grid=points,
    )


def _sweep(name: str, readings: list[str], settings: dict[str, str], plan_readings: Mapping[str, Reading]) -> Sweep:
    """A sweep, after checking that its readings are of one method, score the same test examples
    and share at least one grid point."""
    for reading in readings:
        if reading not in plan_readings:
            raise ValueError(f"sweeps.{name}: '{reading}' is not in methods {list(plan_readings)}")
    mine = [plan_readings[reading] for reading in readings]
    for key, what in ((lambda r: r.method.name, "method"), (lambda r: r.test_examples, "test_examples")):
        values = {r.name: key(r) for r in mine}
        if len(set(values.values())) > 1:
            raise ValueError(f"sweeps.{name}: its readings must share one {what}; they have {values}")
    names = [{(p.ensemble, p.name) for p in r.grid} for r in mine]
    points = tuple(p for p in mine[0].grid if all((p.ensemble, p.name) in own for own in names))
    if not points:
        raise ValueError(f"sweeps.{name}: its readings {readings} share no grid point")
    return Sweep(name, tuple(readings), settings, points)


def _theory(readings: Mapping[str, Reading], sharded: bool) -> dict[tuple[str, str], TheoryPlan]:
    """Section 5 for each reading and two-step kind whose grid has at least 2 naive models and
    D >= 2 (or L >= 2): the largest member sets the grid already scores. With TRAK's features in
    shards, TRAK's readings have no per-member kernel files to decompose: only the others'."""
    plan = {}
    for name, reading in readings.items():
        if sharded and reading.kernels:
            continue
        points = reading.grid
        naive = max([p.n_models for p in points if p.ensemble == "naive"], default=0)
        for kind in TWO_STEP:
            mine = [p for p in points if p.ensemble == kind]
            variants = max([p.n_passes or p.n_adapters for p in mine], default=0)
            if naive >= 2 and variants >= 2:
                plan[name, kind] = TheoryPlan(
                    groups=max(p.n_models for p in mine),
                    variants=variants,
                    sizes=tuple(sorted({p.n_models for p in points if p.ensemble == "naive"})),
                    points=tuple(sorted({(p.n_models, p.n_passes or p.n_adapters) for p in mine})),
                )
    return plan


def _check_shardable(readings: Mapping[str, Reading]) -> None:
    """featurize.shard_size needs each example's features to depend on that example alone: a TRAK
    reading whose dropout passes draw a fresh mask per example and call (per_example) draws them in
    the order of the whole training set, so shards would see other masks."""
    for name, reading in readings.items():
        masked = any(m.masked for point in reading.grid for m in point.members())
        if reading.kernels and reading.mask_mode == "per_example" and masked:
            raise ValueError(
                f"featurize.shard_size: {name}'s dropout passes draw per_example masks in the order of the whole "
                "training set, so shards would draw other masks; use dropout_masks: fixed or featurize.shard_size: null"
            )


def _check_brought_models(
    model: Model,
    readings: Mapping[str, Reading],
    optimiser: Optimiser,
    checkpointed: tuple[int, ...],
    base_models: set[int],
) -> None:
    """With model.checkpoints the base models are the files given, as they are: every grid must
    need no more of them than given, nor other training of them (another base fraction, or the
    intermediate epochs of a training run)."""
    given = len(model.checkpoints)
    if max(base_models) >= given:
        raise ValueError(
            f"model.checkpoints gives {given} trained model(s), but the ensemble grids need base models "
            f"0..{max(base_models)}: give more, or lower I"
        )
    other = [name for name, r in readings.items() if r.base_fraction != optimiser.base_fraction]
    if other:
        raise ValueError(
            f"per_method.{other[0]}.base_fraction: with model.checkpoints the base models are the files given; "
            "remove it (its models would be trained on another share of the data)"
        )
    if checkpointed:
        raise ValueError(
            "model.checkpoints: the grids ask for intermediate checkpoints of a training run (ensembles checkpoints, "
            "or lora.base_epoch before the last epoch), which a model brought trained does not have"
        )


def plan_from_config(config: Mapping[str, Any]) -> Plan:
    """The Plan of a config that passed workflow/schemas/config.schema.yaml (its defaults filled
    in); a ValueError naming the key at fault where sections disagree."""
    methods = list(config["methods"])
    per_method = {name: dict(entry) for name, entry in (config.get("per_method") or {}).items()}
    sweeps = _expand_sweeps(config, methods, per_method)
    algorithm = _check_entries(config, methods, per_method)
    optimiser = Optimiser.from_config(config["train"])
    trak_entry = per_method.get("trak", {})
    readings = {}
    for name in methods:
        points = _grid(name, algorithm[name], per_method.get(name, {}), config, optimiser.checkpoints)
        readings[name] = _reading(name, algorithm[name], per_method.get(name, {}), config, points, trak_entry)
    members = [m for reading in readings.values() for point in reading.grid for m in point.members()]
    lora_models = tuple(sorted({m.model for m in members if m.adapter is not None}))
    lora = Lora.from_config(config["lora"]) if config.get("lora") else None
    if lora_models:
        if lora is None:
            raise ValueError("ensembles.lora needs the lora section (rank, alpha, target_modules, ...)")
        if lora.base_epoch not in optimiser.checkpoints:
            raise ValueError(
                f"lora.base_epoch = {lora.base_epoch} is not one of train.checkpoints {list(optimiser.checkpoints)}: "
                "add it there"
            )
    adapted_early = set(lora_models) if lora and lora_models and lora.base_epoch != optimiser.checkpoints[-1] else set()
    projection = Projection.from_config(config["trak"]["projection"])
    unridged = [name for name, reading in readings.items() if reading.ridge == Ridge()]
    if unridged and projection.kind != "identity" and projection.dim >= config["data"]["n_train"]:
        raise ValueError(
            f"trak.projection.dim = {projection.dim} is not below data.n_train = {config['data']['n_train']}: "
            f"without a ridge ({', '.join(unridged)}), Phi^T Phi is singular (its rank is at most n_train). "
            "Lower the dimension, or set trak.ridge or trak.ridge_relative"
        )
    if config["lds"] is None and config.get("sweeps"):
        raise ValueError("sweeps: choosing a reading needs the LDS; with lds: null (scores only) remove the sweeps")
    model = Model.from_config(config["model"])
    checkpointed = tuple(sorted({m.model for m in members if m.epoch is not None} | adapted_early))
    if model.checkpoints:
        _check_brought_models(model, readings, optimiser, checkpointed, {m.model for m in members})
    passes = [p.n_passes for r in readings.values() for p in r.grid if any(m.projection_only for m in p.members())]
    storage = Storage.from_config(config)
    if storage.shard_size is not None:
        _check_shardable(readings)
    return Plan(
        experiment=config["experiment"],
        seed=config["seed"],
        device=config["device"],
        threads=config["threads"],
        data=config["data"],
        data_loader=data_reference(config["data"]),
        model=model,
        optimiser=optimiser,
        projection=projection,
        influence=Influence.from_config(config["influence"]),
        lora=lora,
        selection=Selection.from_config(config.get("selection")),
        dropout_masks=config.get("dropout_masks", "fixed"),
        trak_test_examples=trak_entry.get("test_examples", config["data"]["n_test"]),
        readings=readings,
        sweeps={name: _sweep(name, names, settings, readings) for name, (names, settings) in sweeps.items()},
        theory={} if model.checkpoints or config["lds"] is None else _theory(readings, storage.shard_size is not None),
        lora_models=lora_models,
        checkpointed_models=checkpointed,
        projection_passes=max(passes, default=0),
        ridges=tuple({r.ridge.tag: r.ridge for r in readings.values() if r.ridge is not None}.values()),
        scores_only=config["lds"] is None,
        storage=storage,
    )
