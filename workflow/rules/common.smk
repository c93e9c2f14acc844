# Helpers shared by every stage: config validation, result paths, tdacore sources, the grid.

from pathlib import Path

import yaml

from snakemake.utils import validate

from tdacore.ensembles.grid import FORWARD_ONLY, grid, GridPoint, parse_member, parse_point, TRAK_ONLY
from tdacore.infra.import_closure import import_closure
from tdacore.data.raw import check_raw_data, missing, raw_paths
from tdacore.attribution.ridge import Ridge
from tdacore.data.sources import GENERATED_TEST_TARGETS, model_dims
from tdacore.models.registry import architecture_factory
from tdacore.evaluation.sweeps import grid_readings


validate(config, schema="../schemas/config.schema.yaml")

RESULTS = f"results/{config['experiment']}"
# The Bach chorales of music21's corpus exported to MIDI: all of them, or the first data.pieces.
CHORALES_PIECES = config["data"].get("pieces")
CHORALES_DIR = "resources/chorales" + (f"-first{CHORALES_PIECES}" if CHORALES_PIECES else "")
TDACORE = Path(workflow.basedir).parent / "tdacore"
CONDA_ENV = "../../environment.yaml"  # python 3.11 + tdacore, for --software-deployment-method conda
METHODS = list(config["methods"])
PER_METHOD = dict(config.get("per_method") or {})
# A method name is a method (trak, if, graddot, gradcos) or a reading of one, named in per_method
# with `method:` and its choices (gradient; curvature, influence): results, tables and figures
# keep readings apart by name, and they share data, models and ground truth.


def trak_ridge(method):
    """The ridge of a TRAK reading's kernels: its own ridge or ridge_relative (either replaces
    trak's pair), else trak.ridge / trak.ridge_relative (tdacore.attribution.ridge.Ridge)."""
    mine = PER_METHOD.get(method, {})
    pair = mine if {"ridge", "ridge_relative"} & set(mine) else config["trak"]
    try:
        return Ridge(pair.get("ridge", 0.0), pair.get("ridge_relative", 0.0))
    except ValueError as err:
        where = f"per_method.{method}" if pair is mine else "trak"
        raise ValueError(f"{where}: {err}") from None


def _is_base(base, path, value):
    """Whether a grid sweep's value is its base reading's own setting (tdacore.evaluation.sweeps.grid_readings)."""
    if path[0] in ("ridge", "ridge_relative"):
        return trak_ridge(base) == Ridge(**{("absolute" if path[0] == "ridge" else "relative"): value})
    return {**config[path[0]], **PER_METHOD.get(base, {}).get(path[0], {})}[path[1]] == value


# Sweeps (tdacore.evaluation.selection): readings of one method, compared per grid point on the selection
# part of the scored test examples, reported on the rest. A sweep lists its readings, or names a
# base reading and a grid of one setting ({reading: trak, ridge_relative: [0, 0.1, 1]}; IF:
# {reading: if, influence: {damping: [...]}}), whose readings it adds, named <base>_<key><value>.
SWEEPS, SWEEP_SETTINGS = {}, {}
for _sweep, _spec in (config.get("sweeps") or {}).items():
    if isinstance(_spec, list):
        SWEEPS[_sweep], SWEEP_SETTINGS[_sweep] = _spec, {reading: reading for reading in _spec}
        continue
    _base = _spec["reading"]
    if _base not in METHODS:
        raise ValueError(f"sweeps.{_sweep}.reading: '{_base}' is not in methods {METHODS}")
    _readings = grid_readings(_sweep, _spec, lambda path, value: _is_base(_base, path, value))
    for _name, _overrides, _setting in _readings:
        if _overrides is not None:
            _entry = {**PER_METHOD.get(_base, {}), "method": PER_METHOD.get(_base, {}).get("method", _base)}
            for _key, _value in _overrides.items():
                _entry[_key] = {**_entry.get(_key, {}), **_value} if isinstance(_value, dict) else _value
            PER_METHOD[_name] = _entry
            METHODS += [] if _name in METHODS else [_name]
    SWEEPS[_sweep] = [name for name, _, _ in _readings]
    SWEEP_SETTINGS[_sweep] = {name: setting for name, _, setting in _readings}
ALGORITHM = {name: PER_METHOD.get(name, {}).get("method", name) for name in METHODS}
# The per_method choices each method takes (TRAK's are the global train.base_fraction and dropout_masks).
_SHARED_CHOICES = {"base_fraction", "dropout_masks"}
METHOD_CHOICES = {
    "trak": {"ridge", "ridge_relative"}, "if": {"curvature", "influence"} | _SHARED_CHOICES,
    "graddot": {"gradient"} | _SHARED_CHOICES, "gradcos": {"gradient"} | _SHARED_CHOICES,
}
for _name, _algorithm in ALGORITHM.items():
    if _algorithm not in METHOD_CHOICES:
        raise ValueError(f"methods: '{_name}' is neither a method (trak, if, graddot, gradcos) nor named in per_method with `method:`")
    if _algorithm == "trak" and PER_METHOD.get(_name, {}).get("test_examples") not in (None, PER_METHOD.get("trak", {}).get("test_examples", config["data"]["n_test"])):
        raise ValueError(f"per_method.{_name}.test_examples: a TRAK reading scores trak's test examples (it shares trak's features)")
    _foreign = set(PER_METHOD.get(_name, {})) & (set().union(*METHOD_CHOICES.values()) - METHOD_CHOICES[_algorithm])
    if _foreign:
        raise ValueError(f"per_method.{_name}: {sorted(_foreign)} do not apply to {_algorithm}")
for _method in PER_METHOD:  # a base method's entry that is not run (e.g. an overlay's base config's) is ignored
    if _method not in METHODS and _method not in ("trak", "if", "graddot", "gradcos"):
        raise ValueError(f"per_method.{_method}: '{_method}' is not in methods {METHODS}")
    if PER_METHOD[_method].get("test_examples", 0) > config["data"]["n_test"]:
        raise ValueError(
            f"per_method.{_method}.test_examples = {PER_METHOD[_method]['test_examples']} exceeds data.n_test = {config['data']['n_test']}"
        )
# Saved epochs of one training run (Appendix F.2); the last is the final model, so that one
# checkpoint is the model itself.
CHECKPOINTS = config["train"].get("checkpoints", [config["train"]["epochs"]])
if CHECKPOINTS != sorted(set(CHECKPOINTS)) or CHECKPOINTS[-1] != config["train"]["epochs"]:
    raise ValueError(
        f"train.checkpoints = {CHECKPOINTS}: list distinct epochs in increasing order, ending with train.epochs = {config['train']['epochs']} (the final model)"
    )
# The ensemble grid of each method: per_method.<method>.ensembles where given, else `ensembles`.
ENSEMBLE_CONFIGS = {method: PER_METHOD.get(method, {}).get("ensembles", config["ensembles"]) for method in METHODS}
for _method, _ensembles in ENSEMBLE_CONFIGS.items():
    for _kind in TRAK_ONLY:
        if ALGORITHM[_method] != "trak" and _kind in _ensembles:
            _where = f"per_method.{_method}.ensembles" if "ensembles" in PER_METHOD.get(_method, {}) else "ensembles"
            raise ValueError(
                f"{_where}.{_kind}: the {_kind} ensemble exists for TRAK only, but {_method} would use it "
                f"(give {_method} its own grid in per_method.{_method}.ensembles)"
            )
GRIDS = {method: grid(ensembles, CHECKPOINTS) for method, ensembles in ENSEMBLE_CONFIGS.items()}
for _method, _points in GRIDS.items():
    if "base_fraction" in PER_METHOD.get(_method, {}) and {"checkpoints", "lora"} & {point.ensemble for point in _points}:
        raise ValueError(f"per_method.{_method}.base_fraction: its own base models have no checkpoints or adapters (drop those grids)")
# The data set attribution and the LDS ground truth read: for music, the one with each prompt's
# generated event (made by generate_events); for digits and text, the data set itself (text: its
# real test continuations are the scored targets).
ATTRIBUTION_DATA = f"{RESULTS}/data/{'generated' if config['data']['source'] in GENERATED_TEST_TARGETS else 'dataset'}.h5"
# LoRA adapters (Section 3.4): adapter l of model i adapts base model i's checkpoint at lora.base_epoch.
LORA = config.get("lora")
LORA_MODELS = sorted({m.model for points in GRIDS.values() for point in points for m in point.members() if m.adapter is not None})
if LORA_MODELS:
    if LORA is None:
        raise ValueError("ensembles.lora needs the lora section (rank, alpha, target_modules, ...)")
    if LORA["base_epoch"] not in CHECKPOINTS:
        raise ValueError(f"lora.base_epoch = {LORA['base_epoch']} is not one of train.checkpoints {CHECKPOINTS}: add it there")
    from tdacore.models.lora import check_targets  # imports torch: only configs with adapters pay for it

    check_targets(config["model"], *model_dims(config["data"]), LORA["target_modules"])
# Base models whose training run saves the intermediate checkpoints a checkpoints point or a
# LoRA base model uses.
CHECKPOINTED_MODELS = sorted(
    {m.model for points in GRIDS.values() for point in points for m in point.members() if m.epoch is not None}
    | (set(LORA_MODELS) if LORA_MODELS and LORA["base_epoch"] != CHECKPOINTS[-1] else set())
)


wildcard_constraints:
    i=r"\d+",
    j=r"\d+",
    l=r"\d+",
    model=r"\d+(-epoch\d+|-lora\d+)?",
    variant=r"[dp]\d+",
    ensemble="|".join(sorted({point.ensemble for points in GRIDS.values() for point in points})),
    point=r"I\d+(-C\d+|-L\d+)?(-D\d+)?",
    method="|".join(METHODS),
    kind="dropout|lora",
    fraction=r"[0-9.]+(e-?[0-9]+)?",


# The names whose scores are per-member score files (IF, Grad-Dot, Grad-Cos and their readings),
# and TRAK's readings (their ridges), whose scores average member kernels.
SCORED_METHODS = "|".join(name for name in METHODS if ALGORITHM[name] != "trak") or "none"
TRAK_METHODS = "|".join(name for name in METHODS if ALGORITHM[name] == "trak") or "none"
# Every ridge some TRAK reading uses: each TRAK member's kernel is made once per ridge (rule member_kernels).
RIDGES = list({trak_ridge(name).tag: trak_ridge(name) for name in METHODS if ALGORITHM[name] == "trak"}.values())
# Raw data (rules/data.smk): the download of each missing piece.
def fetch_params(wildcards, output):
    """The download of the missing raw path a fetch job makes: its URL and checksum."""
    download = FETCH[str(output[0])].download
    return {"url": download.url, "checksum": download.checksum}


def refuse_before_any_job(jobs):
    """Stop a run, before any of `jobs` (those it would run) starts, that needs raw data that is
    missing (rules/data.smk), or that asks for device: cuda where jobs run on this machine and its
    torch sees no such GPU (on a cluster, each job checks its own node)."""
    if RAW_MISSING and any(job.rule.name == "prepare_data" for job in jobs):
        raise FileNotFoundError(
            f"data.source = {config['data']['source']}: missing {', '.join(FETCH)} ({RAW_MISSING[0].key}). Copy them "
            "there, or fetch them with `snakemake download --configfile <this config>` (needs internet); nothing was run."
        )
    if config["device"].startswith("cuda") and workflow.local_exec:
        import torch  # only configs that ask for CUDA pay for importing it

        if int(config["device"].partition(":")[2] or 0) >= torch.cuda.device_count():
            raise ValueError(
                f"device: '{config['device']}' but torch {torch.__version__} sees {torch.cuda.device_count()} GPU(s) on "
                "this machine: use device: auto (a GPU when there is one, else the CPU) or cpu, or run on a cluster's GPU nodes"
            )


# Eq. 2 without a ridge inverts Phi^T Phi (k x k), whose rank is at most the n_train examples it sums over.
_UNRIDGED = [name for name in METHODS if ALGORITHM[name] == "trak" and trak_ridge(name) == Ridge()]
if _UNRIDGED and config["trak"]["projection"]["kind"] != "identity" and config["trak"]["projection"]["dim"] >= config["data"]["n_train"]:
    raise ValueError(
        f"trak.projection.dim = {config['trak']['projection']['dim']} is not below data.n_train = {config['data']['n_train']}: "
        f"without a ridge ({', '.join(_UNRIDGED)}), Phi^T Phi is singular (its rank is at most n_train). "
        "Lower the dimension, or set trak.ridge or trak.ridge_relative"
    )


# Rerun tracking: every rule that runs a script takes, as its input `src`, each source file its
# jobs import (workflow/Snakefile adds it to every such rule once all are defined), so that an
# edit to any of them reruns the rule's jobs and what follows, and an edit to anything else reruns
# nothing. The files are the script's import closure (tdacore.infra.import_closure, a static walk of
# the imports while the DAG is planned) under the script's folder and tdacore's checkout, with
# the module of each architecture the jobs build, which tdacore.models.build imports by name.
def script_sources(rule):
    """The source files a rule's script runs (its own file aside: Snakemake tracks it)."""
    script = Path(rule.basedir.get_path_or_uri(secret_free=True), rule.script).resolve()
    architectures = [architecture_factory(name)[0] for name in models_built_by(rule.name)]
    closure = import_closure([script], roots=[script.parent, TDACORE.parent], dynamic={"tdacore.models.build": architectures})
    return [str(path) for path in closure]


# Per-member files, by the step that makes them (its rule name), i.e. TRAK features (one pass
# each, or every projection pass of one model from its gradients computed once), forward-only Q,
# a member's kernel under a ridge, other methods' member scores: (file pattern, pattern of the
# job's log and benchmark).
MEMBER_FILES = {
    "featurize": ("features/{model}/{variant}", "features/{model}/{variant}"),
    "featurize_projections": ("features/{model}/{variant}", "features/{model}/projections"),
    "forward_q": ("forward/{model}/{variant}", "forward/{model}/{variant}"),
    "member_kernels": ("kernels/{model}/{variant}/{ridge}", "kernels/{model}/{variant}"),
    "member_scores": ("member_scores/{method}/{model}/{variant}", "member_scores/{method}/{model}/{variant}"),
}
# Projection passes p1..pP that featurize_projections makes for each model that needs any.
PROJECTION_PASSES = max(
    [point.n_passes for points in GRIDS.values() for point in points if any(m.projection_only for m in point.members())],
    default=0,
)


def member_path(step, kind="file", member=None, method="{method}", ridge=None):
    """The file, log or benchmark of `member`'s job of `step`; without a member, the step's own
    wildcard pattern. A kernel file is the one at `ridge`, else at TRAK reading `method`'s."""
    model, variant = (member.model_tag, member.variant) if member else ("{model}", "{variant}")
    pattern = MEMBER_FILES[step][kind != "file"]
    tag = (ridge or trak_ridge(method)).tag if "{ridge}" in pattern else None
    rel = pattern.format(model=model, variant=variant, method=method, ridge=tag)
    return {"file": f"{RESULTS}/{rel}.h5", "log": f"{RESULTS}/logs/{rel}.log", "benchmark": f"{RESULTS}/benchmarks/{rel}.tsv"}[kind]


def member_jobs(method, point):
    """(step, member) of every per-member job a grid point needs, i.e. its members' scores, or
    their features and kernels, and for the forward-only kinds the Q of its masked passes."""
    if ALGORITHM[method] != "trak":
        return [("member_scores", m) for m in point.members()]
    jobs = [("featurize_projections" if m.projection_only else "featurize", m) for m in point.members()]
    jobs += [("member_kernels", m) for m in point.members()]
    if point.ensemble in FORWARD_ONLY:
        jobs += [("forward_q", m) for m in point.q_members()]
    return jobs


def base_model_file(i, epoch=None):
    """Base model i's file: its final model, or its checkpoint at `epoch`."""
    return f"{RESULTS}/models/base/{i}.pt" if epoch in (None, CHECKPOINTS[-1]) else f"{RESULTS}/models/base/{i}-epoch{epoch}.pt"


def lora_base(wildcards):
    """The base model that adapter l of model i adapts."""
    return base_model_file(wildcards.i, LORA["base_epoch"])


def base_fraction(method):
    """The fraction of the training set `method`'s base models train on: per_method.<name>.
    base_fraction, else train.base_fraction (TRAK's: Appendix A)."""
    return PER_METHOD.get(method, {}).get("base_fraction", config["train"]["base_fraction"])


def base_model_dir(method):
    """Where `method`'s base models are: models/base at train.base_fraction, models/base-f{f}
    at another fraction f (trained by train_base_at_fraction), so that both coexist."""
    fraction = base_fraction(method)
    return f"{RESULTS}/models/base" if fraction == config["train"]["base_fraction"] else f"{RESULTS}/models/base-f{fraction:g}"


def member_model(wildcards):
    """A per-member job's model file: base model i (or its checkpoint) at its method's base
    fraction, or adapter l of model i with the base model it adapts (read through the adapter)."""
    member = parse_member(wildcards.model, "d0")
    if member.adapter is None:
        return {"model": f"{base_model_dir(wildcards.get('method', 'trak'))}/{wildcards.model}.pt"}
    return {"model": f"{RESULTS}/models/lora/{member.model}/{member.adapter}.pt", "base": base_model_file(member.model, LORA["base_epoch"])}


def point_of(wildcards):
    return parse_point(wildcards.ensemble, wildcards.point, CHECKPOINTS)


def checkpoint_epochs(wildcards):
    """The checkpoint epochs a grid point uses (none but for checkpoints points): a parameter of
    its aggregation, so that changing train.checkpoints reruns only the points it changes."""
    return list(point_of(wildcards).epochs)


def scored_member_files(method, point):
    """The per-member files a grid point averages: TRAK kernels (at the reading's ridge, with
    their Q), or another method's member scores."""
    return [member_path(step, member=m, method=method) for step, m in member_jobs(method, point) if step in ("member_kernels", "member_scores")]


def kernel_files(wildcards):
    """scored_member_files of a grid point's job (its method and point wildcards)."""
    return scored_member_files(wildcards.method, point_of(wildcards))


def q_files(wildcards):
    """The Q files of a forward-only point's masked passes (none for other kinds)."""
    return [member_path(step, member=m) for step, m in member_jobs("trak", point_of(wildcards)) if step == "forward_q"]


def serving_benchmarks(method, point):
    """Benchmark files of every job that serves a grid point: its per-member jobs and its aggregation."""
    members = [member_path(step, "benchmark", m, method) for step, m in member_jobs(method, point)]
    return list(dict.fromkeys(members)) + [f"{RESULTS}/benchmarks/attribute/{method}/{point.ensemble}/{point.name}.tsv"]


def point_file(kind, method, point):
    """A grid point's file of `kind` (lds: .json, scores: .h5) for `method`."""
    return f"{RESULTS}/{kind}/{method}/{point.ensemble}/{point.name}{'.json' if kind == 'lds' else '.h5'}"


def point_files(kind):
    """Every grid point's file of `kind`, method by method."""
    return [point_file(kind, method, point) for method in METHODS for point in GRIDS[method]]


def method_choices(method):
    """The choices a member_scores job of `method` runs with: IF's settings (influence, with the
    reading's overrides) and curvature; Grad-Dot's and Grad-Cos's gradient."""
    mine = PER_METHOD.get(method, {})
    if ALGORITHM[method] == "if":
        return {**config["influence"], **mine.get("influence", {}), "curvature": mine.get("curvature", "hessian")}
    return {"gradient": mine.get("gradient", "margin")}


def mask_mode(method):
    """How `method`'s dropout passes draw their masks (tdacore.models.dropout): per_method.<name>.
    dropout_masks, else dropout_masks (default fixed: one mask per pass for every example)."""
    return PER_METHOD.get(method, {}).get("dropout_masks", config.get("dropout_masks", "fixed"))


def test_examples(method):
    """How many test examples `method` scores: the first n of the (randomly split) test set
    (a TRAK reading: trak's, whose features it shares)."""
    return PER_METHOD.get("trak" if ALGORITHM.get(method, method) == "trak" else method, {}).get("test_examples", config["data"]["n_test"])


# A sweep covers the grid points all its readings share.
SELECTION = config["selection"]


def _sweep_points(sweep, readings):
    """The grid points every reading of a sweep has; the readings must be of one method and score
    the same test examples."""
    for reading in readings:
        if reading not in METHODS:
            raise ValueError(f"sweeps.{sweep}: '{reading}' is not in methods {METHODS}")
    for key, what in ((ALGORITHM.get, "method"), (test_examples, "test_examples")):
        values = {reading: key(reading) for reading in readings}
        if len(set(values.values())) > 1:
            raise ValueError(f"sweeps.{sweep}: its readings must share one {what}; they have {values}")
    names = [{(p.ensemble, p.name) for p in GRIDS[reading]} for reading in readings]
    points = [p for p in GRIDS[readings[0]] if all((p.ensemble, p.name) in mine for mine in names)]
    if not points:
        raise ValueError(f"sweeps.{sweep}: its readings {readings} share no grid point")
    return points


SWEEP_POINTS = {sweep: _sweep_points(sweep, readings) for sweep, readings in SWEEPS.items()}
# Per sweep, one {reading: LDS file} per grid point its readings share.
SWEEP_FILES = {sweep: [{r: point_file("lds", r, p) for r in SWEEPS[sweep]} for p in points] for sweep, points in SWEEP_POINTS.items()}


# Final tables and figures (rules/report.smk).
KINDS = {point.ensemble for points in GRIDS.values() for point in points}
# Figure 2 (forward-only against full Dropout at a fixed I) needs both kinds for TRAK.
FORWARD_ONLY_FIGURE = "trak" in METHODS and any(
    {"dropout", kind} <= {p.ensemble for p in GRIDS["trak"]} for kind in FORWARD_ONLY
)
TITLE = config["experiment"] + (
    f" (TRAK: {config['trak']['projection']['kind']} projection, k={config['trak']['projection']['dim']})" if "trak" in METHODS else ""
)


# The table each figure is drawn from (the others: the cost table).
FIGURE_TABLES = {"lds_vs_I": "lds", "lemma": "lemma", "selected_lds_vs_I": "selection"}
# Section 5 (Lemma 5.1): for each method and two-step kind (dropout, lora) whose grid has at
# least 2 naive models and D >= 2 (or L >= 2), the largest member sets the grid already scores.
TWO_STEP = ("dropout", "lora")
THEORY_DRAWS = 200  # random subsets per measured squared error
PLAN_MAX_VARIANTS = 50  # the planner's largest D (or L) per base model: the paper's largest D


def _theory_plan():
    plan = {}
    for method, points in GRIDS.items():
        naive = max([p.n_models for p in points if p.ensemble == "naive"], default=0)
        for kind in TWO_STEP:
            mine = [p for p in points if p.ensemble == kind]
            variants = max([p.n_passes or p.n_adapters for p in mine], default=0)
            if naive >= 2 and variants >= 2:
                plan[method, kind] = {
                    "groups": max(p.n_models for p in mine),
                    "variants": variants,
                    "sizes": sorted({p.n_models for p in points if p.ensemble == "naive"}),
                    "points": sorted({(p.n_models, p.n_passes or p.n_adapters) for p in mine}),
                }
    return plan


THEORY = _theory_plan()


def theory_members(method, kind):
    """Per-member files of a method's variance decomposition: the naive models, and the two-step
    kind's members (K groups x D variants, group-major)."""
    plan = THEORY[method, kind]
    naive = GridPoint("naive", plan["sizes"][-1])
    two_step = GridPoint(kind, plan["groups"], **({"n_passes": plan["variants"]} if kind == "dropout" else {"n_adapters": plan["variants"]}))
    return tuple(scored_member_files(method, point) for point in (naive, two_step))


def final_outputs():
    """What `snakemake` (the target all) and the report make, i.e. every table and every figure the grid has data for."""
    outputs = [f"{RESULTS}/tables/{name}.{kind}" for name in ("lds", "costs", "relative_costs", "peak_memory") for kind in ("tsv", "html")]
    outputs += [f"{RESULTS}/figures/lds_vs_I.png", f"{RESULTS}/figures/lds_vs_cost.png"]
    if FORWARD_ONLY_FIGURE:
        outputs.append(f"{RESULTS}/figures/forward_only.png")
    if "checkpoints" in KINDS:
        outputs.append(f"{RESULTS}/figures/checkpoints.png")
    if SWEEPS:
        outputs += [f"{RESULTS}/tables/selection.{ext}" for ext in ("tsv", "html")] + [f"{RESULTS}/figures/selected_lds_vs_I.png"]
    if THEORY:
        outputs += [f"{RESULTS}/tables/{name}.{ext}" for name in ("lemma", "plan") for ext in ("tsv", "html")]
        outputs.append(f"{RESULTS}/figures/lemma.png")
    return outputs


# The featurization benchmark (`snakemake bench`, rules/bench.smk): its settings file and the
# config files whose model and data sizes it takes, both in the repository's config/.
BENCH_CONFIG = str(TDACORE.parent / "config" / "bench.yaml")


def bench_settings():
    """The config files of the settings in the benchmark's list (none without the file: the
    bench rule then reports it missing, and only when asked for)."""
    if not Path(BENCH_CONFIG).exists():
        return []
    with open(BENCH_CONFIG) as handle:
        return [str(TDACORE.parent / setting["config"]) for setting in yaml.safe_load(handle)["settings"]]


def models_built_by(rule_name):
    """The architectures (model.name) that a rule's jobs may build: the benchmark's settings'
    for bench, the config's for every other rule."""
    if rule_name != "bench":
        return [config["model"]["name"]]
    names = []
    for path in bench_settings():
        with open(path) as handle:
            names.append(yaml.safe_load(handle)["model"]["name"])
    return sorted(set(names))
