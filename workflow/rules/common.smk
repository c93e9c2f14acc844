# What every stage shares: the config's plan (read once, typed and checked, by tdacore.plan),
# wildcard constraints, result paths, and the input functions that derive a job's files from it.

import functools
from pathlib import Path

from snakemake.utils import validate

from tdacore.data.sources import GENERATED_TEST_TARGETS, model_dims
from tdacore.ensembles.grid import FORWARD_ONLY, parse_member, parse_point
from tdacore.infra.import_closure import import_closure
from tdacore.infra.references import source_files
from tdacore.plan import plan_from_config

validate(config, schema="../schemas/config.schema.yaml")
# The config's sections as frozen dataclasses, each name in `methods` as a Reading (a method, or
# a reading of one named in per_method, with its choices and ensemble grid), sweeps expanded into
# readings, Section 5's variance decompositions; every check that spans sections is made here.
PLAN = plan_from_config(config)
READINGS = PLAN.readings
METHODS = PLAN.methods
CHECKPOINTS = PLAN.checkpoints
RESULTS = PLAN.results
TDACORE = Path(workflow.basedir).parent / "tdacore"
CONDA_ENV = "../../environment.yaml"  # python 3.11 + tdacore, for --software-deployment-method conda
# The data set attribution and the LDS ground truth read: for music, the one with each prompt's
# generated event (made by generate_events); for digits and text, the data set itself (text: its
# real test continuations are the scored targets).
ATTRIBUTION_DATA = (
    f"{RESULTS}/data/{'generated' if config['data'].get('source') in GENERATED_TEST_TARGETS else 'dataset'}.h5"
)
# A LoRA Ensemble's target modules, checked while planning where the data's sizes are known then
# (a built-in source; a researcher's data is checked by the adapter's job).
if PLAN.lora_models and model_dims(config["data"]) is not None:
    from tdacore.models.lora import check_targets  # imports torch: only configs with adapters pay for it

    check_targets(config["model"], *model_dims(config["data"]), list(PLAN.lora.target_modules))


wildcard_constraints:
    i=r"\d+",
    j=r"\d+",
    l=r"\d+",
    model=r"\d+(-epoch\d+|-lora\d+)?",
    variant=r"[dp]\d+",
    ensemble="|".join(sorted(PLAN.kinds)),
    point=r"I\d+(-C\d+|-L\d+)?(-D\d+)?",
    method="|".join(METHODS),
    kind="dropout|lora",
    fraction=r"[0-9.]+(e-?[0-9]+)?",
    part=r"s\d+|test",


# The names whose scores average per-member score files (IF, Grad-Dot, Grad-Cos and their
# readings), and TRAK's readings (their ridges), whose scores average member kernels.
SCORED_METHODS = "|".join(name for name, reading in READINGS.items() if not reading.kernels) or "none"
TRAK_METHODS = "|".join(name for name, reading in READINGS.items() if reading.kernels) or "none"


# Checks that need the planned jobs or the executor (workflow/Snakefile's onstart).
def refuse_before_any_job(jobs):
    """Stop a run, before any of `jobs` (those it would run) starts, that needs raw data that is
    missing, or that asks for device: cuda where jobs run on this machine and its torch sees no
    such GPU (on a cluster, each job checks its own node)."""
    if RAW_MISSING and any(job.rule.name == "prepare_data" for job in jobs):
        raise FileNotFoundError(
            f"data.source = {config['data'].get('source')}: missing {', '.join(FETCH)} ({RAW_MISSING[0].key}). Copy them "
            "there, or fetch them with `snakemake download --configfile <this config>` (needs internet); nothing was run."
        )
    if PLAN.device.startswith("cuda") and workflow.local_exec:
        import torch  # only configs that ask for CUDA pay for importing it

        if int(PLAN.device.partition(":")[2] or 0) >= torch.cuda.device_count():
            raise ValueError(
                f"device: '{PLAN.device}' but torch {torch.__version__} sees {torch.cuda.device_count()} GPU(s) on "
                "this machine: use device: auto (a GPU when there is one, else the CPU) or cpu, or run on a cluster's GPU nodes"
            )


def refuse_inside_results(path, key):
    """Refuse a file the user brings (raw data, a trained model) that lies inside results/: the
    workflow writes there, and must never delete or replace it."""
    if Path(path).resolve().is_relative_to(Path("results").resolve()):
        raise ValueError(f"{key}: {path} lies inside results/, which the workflow writes: keep it outside")


# Rerun tracking: every rule that runs a script takes, as its input `src`, each source file its
# jobs import (workflow/Snakefile adds it to every such rule once all are defined), so that an
# edit to any of them reruns the rule's jobs and what follows, and an edit to anything else reruns
# nothing. The files are the script's import closure (tdacore.infra.import_closure, a static walk of
# the imports while the DAG is planned) under the script's folder and tdacore's checkout, with the
# code that tdacore imports by name where the config points to it (tdacore.infra.references): the
# model's factory (a built-in architecture or a researcher's) wherever models are built, a
# researcher's model outputs (model.outputs) wherever outputs are computed, the data's loader
# wherever data is loaded, each with the files of its own folder or package it imports.
CODE_RUNNERS = {
    "model.name": TDACORE / "models" / "build.py",
    "model.factory": TDACORE / "models" / "build.py",
    "model.outputs": TDACORE / "models" / "outputs.py",
    "data.source": TDACORE / "data" / "load.py",
    "data.loader": TDACORE / "data" / "load.py",
}


def script_sources(rule):
    """The source files a rule's script runs (its own file aside: Snakemake tracks it)."""
    script = Path(rule.basedir.get_path_or_uri(secret_free=True), rule.script).resolve()
    closure = import_closure([script], roots=[script.parent, TDACORE.parent])
    called = [
        path
        for ref in code_references(rule.name)
        if CODE_RUNNERS[ref.key].resolve() in closure
        for path in reference_files(ref)
    ]
    return [str(path) for path in dict.fromkeys([*closure, *called])]


@functools.cache
def reference_files(ref):
    """source_files of a reference, found once for every rule that runs it."""
    return source_files(ref, Path.cwd(), [TDACORE.parent])


def code_references(rule_name):
    """The config's references to code that a rule's jobs may run: the model factories of the
    benchmark's settings for bench (rules/bench.smk), the config's model factory, model outputs
    (if a researcher's) and data loader for every other rule."""
    if rule_name == "bench":
        return BENCH_FACTORIES
    return [PLAN.model.factory, *([PLAN.model.outputs] if PLAN.model.outputs else []), PLAN.data_loader]


# TRAK's features in shards (featurize.shard_size, tdacore.plan.Plan.shards): the rows of each
# training shard s{k}; each member's features are made in parts, its training shards and the test
# set, one featurize job each; a member's kernel is then its solve (member_solve) and a grid point's
# scores are made one block per shard (score_block) and collected. Unsharded: none of these.
SHARDS = {f"s{k}": [rows.start, rows.stop] for k, rows in enumerate(PLAN.shards)}
PARTS = [*SHARDS, "test"] if SHARDS else []
KERNEL_STEP = "member_solve" if SHARDS else "member_kernels"


def in_parts(pattern):
    """A features pattern, one file per part (a folder of parts) when sharded."""
    return f"{pattern}/{{part}}" if SHARDS else pattern


# Per-member files, by the step that makes them (its rule name), i.e. TRAK features (one pass
# each, or every projection pass of one model from its gradients computed once; sharded: one part
# each), forward-only Q, a member's kernel (sharded: its solve) under a ridge, other methods'
# member scores: (file pattern, pattern of the job's log and benchmark).
MEMBER_FILES = {
    "featurize": (in_parts("features/{model}/{variant}"), in_parts("features/{model}/{variant}")),
    "featurize_projections": (in_parts("features/{model}/{variant}"), in_parts("features/{model}/projections")),
    "forward_q": ("forward/{model}/{variant}", "forward/{model}/{variant}"),
    "member_kernels": ("kernels/{model}/{variant}/{ridge}", "kernels/{model}/{variant}"),
    "member_solve": ("solves/{model}/{variant}/{ridge}", "solves/{model}/{variant}"),
    "member_scores": ("member_scores/{method}/{model}/{variant}", "member_scores/{method}/{model}/{variant}"),
}


def member_path(step, kind="file", member=None, method="{method}", ridge=None, part=None):
    """The file, log or benchmark of `member`'s job of `step` (sharded features: of `part`);
    without a member (or part), the step's own wildcard pattern. A kernel or solve file is the one
    at `ridge`, else at TRAK reading `method`'s."""
    model, variant = (member.model_tag, member.variant) if member else ("{model}", "{variant}")
    pattern = MEMBER_FILES[step][kind != "file"]
    tag = (ridge or READINGS[method].ridge).tag if "{ridge}" in pattern else None
    rel = pattern.format(model=model, variant=variant, method=method, ridge=tag, part=part or "{part}")
    return {
        "file": f"{RESULTS}/{rel}.h5",
        "log": f"{RESULTS}/logs/{rel}.log",
        "benchmark": f"{RESULTS}/benchmarks/{rel}.tsv",
    }[kind]


def member_jobs(method, point):
    """(step, member, part) of every per-member job a grid point needs, i.e. its members' scores,
    or their features (sharded: each part's) and kernels (sharded: solves), and for the
    forward-only kinds the Q of its masked passes; part is None but for sharded features."""
    if not READINGS[method].kernels:
        return [("member_scores", m, None) for m in point.members()]
    steps = [("featurize_projections" if m.projection_only else "featurize", m) for m in point.members()]
    jobs = [(step, m, part) for step, m in steps for part in PARTS or [None]]
    jobs += [(KERNEL_STEP, m, None) for m in point.members()]
    if point.ensemble in FORWARD_ONLY:
        jobs += [("forward_q", m, None) for m in point.q_members()]
    return jobs


def base_model_file(i, epoch=None):
    """Base model i's file: its final model, or its checkpoint at `epoch`."""
    return (
        f"{RESULTS}/models/base/{i}.pt"
        if epoch in (None, CHECKPOINTS[-1])
        else f"{RESULTS}/models/base/{i}-epoch{epoch}.pt"
    )


def lora_base(wildcards):
    """The base model that adapter l of model i adapts."""
    return base_model_file(wildcards.i, PLAN.lora.base_epoch)


def base_model_dir(fraction):
    """Where base models trained on `fraction` of the training set are: models/base at
    train.base_fraction, models/base-f{f} at another fraction f (trained by
    train_base_at_fraction), so that both coexist."""
    return (
        f"{RESULTS}/models/base" if fraction == PLAN.optimiser.base_fraction else f"{RESULTS}/models/base-f{fraction:g}"
    )


def member_model(wildcards):
    """A per-member job's model file: base model i (or its checkpoint) at its reading's base
    fraction (TRAK's: train.base_fraction), or adapter l of model i with the base model it adapts
    (read through the adapter)."""
    member = parse_member(wildcards.model, "d0")
    if member.adapter is None:
        fraction = (
            READINGS[wildcards.method].base_fraction if "method" in wildcards.keys() else PLAN.optimiser.base_fraction
        )
        return {"model": f"{base_model_dir(fraction)}/{wildcards.model}.pt"}
    return {
        "model": f"{RESULTS}/models/lora/{member.model}/{member.adapter}.pt",
        "base": base_model_file(member.model, PLAN.lora.base_epoch),
    }


def point_of(wildcards):
    return parse_point(wildcards.ensemble, wildcards.point, CHECKPOINTS)


def checkpoint_epochs(wildcards):
    """The checkpoint epochs a grid point uses (none but for checkpoints points): a parameter of
    its aggregation, so that changing train.checkpoints reruns only the points it changes."""
    return list(point_of(wildcards).epochs)


def scored_member_files(method, point):
    """The per-member files a grid point averages: TRAK kernels (at the reading's ridge, with
    their Q), or another method's member scores."""
    return [
        member_path(step, member=m, method=method)
        for step, m, _ in member_jobs(method, point)
        if step in (KERNEL_STEP, "member_scores")
    ]


def kernel_files(wildcards):
    """scored_member_files of a grid point's job (its method and point wildcards)."""
    return scored_member_files(wildcards.method, point_of(wildcards))


def q_files(wildcards):
    """The Q files of a forward-only point's masked passes (none for other kinds)."""
    return (
        [member_path("forward_q", member=m) for m in point_of(wildcards).q_members()]
        if wildcards.ensemble in FORWARD_ONLY
        else []
    )


def shard_feature_files(wildcards):
    """A score block's features: each member's of the block's shard (its part wildcard)."""
    point = point_of(wildcards)
    return [
        member_path(step, member=m, part=part)
        for step, m, part in member_jobs(wildcards.method, point)
        if part == wildcards.part
    ]


def block_path(kind, method, point, part):
    """A sharded TRAK grid point's score block of training shard `part`: its file, log or benchmark."""
    rel = f"blocks/{method}/{point.ensemble}/{point.name}/{part}"
    return {
        "file": f"{RESULTS}/{rel}.h5",
        "log": f"{RESULTS}/logs/{rel}.log",
        "benchmark": f"{RESULTS}/benchmarks/{rel}.tsv",
    }[kind]


def block_files(wildcards):
    """A sharded TRAK grid point's score blocks, shard by shard."""
    return [block_path("file", wildcards.method, point_of(wildcards), part) for part in SHARDS]


def serving_benchmarks(method, point):
    """Benchmark files of every job that serves a grid point: its per-member jobs, its score
    blocks (sharded TRAK) and its aggregation."""
    members = [member_path(step, "benchmark", m, method, part=part) for step, m, part in member_jobs(method, point)]
    blocks = [block_path("benchmark", method, point, part) for part in SHARDS] if READINGS[method].kernels else []
    return (
        list(dict.fromkeys(members))
        + blocks
        + [f"{RESULTS}/benchmarks/attribute/{method}/{point.ensemble}/{point.name}.tsv"]
    )


def point_file(kind, method, point):
    """A grid point's file of `kind` (lds: .json, scores: .h5) for `method`."""
    return f"{RESULTS}/{kind}/{method}/{point.ensemble}/{point.name}{'.json' if kind == 'lds' else '.h5'}"


def point_files(kind):
    """Every grid point's file of `kind`, reading by reading."""
    return [point_file(kind, name, point) for name, reading in READINGS.items() for point in reading.grid]


def showcase_point(method):
    """The grid point whose scores the proponents figure shows: the reading's largest ensemble
    (the most members; the first listed among equals)."""
    return max(READINGS[method].grid, key=lambda point: len(point.members()))


def theory_members(method, kind):
    """Per-member files of a reading's variance decomposition (tdacore.plan.TheoryPlan): the naive
    models, and the two-step kind's members (K groups x D variants, group-major)."""
    return tuple(scored_member_files(method, point) for point in PLAN.theory[method, kind].members(kind))
