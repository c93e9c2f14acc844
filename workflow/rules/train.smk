# Independently trained base models (Appendix A: each on its own random half), the intermediate
# checkpoints of their training runs (Appendix F.2) and the LDS retrains (Appendix D: one model
# per random subset S_j of size alpha * n).

OPTIMISER = {key: value for key, value in config["train"].items() if key not in ("base_fraction", "checkpoints")}
# What builds a model: the model section but for the trained models a researcher brings.
MODEL_SPEC = {key: value for key, value in config["model"].items() if key != "checkpoints"}
for _n, _path in enumerate(PLAN.model.checkpoints):
    if not Path(_path).is_file():
        raise ValueError(f"model.checkpoints[{_n}]: {_path} is not a file")
    refuse_inside_results(_path, f"model.checkpoints[{_n}]")


rule train_base:
    input:
        data=f"{RESULTS}/data/dataset.h5",
    output:
        model=f"{RESULTS}/models/base/{{i}}.pt",
    log:
        f"{RESULTS}/logs/train_base/{{i}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_base/{{i}}.tsv"
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        role="base",
        seed=config["seed"],
        device=config["device"],
        model=MODEL_SPEC,
        train=OPTIMISER,
        fraction=config["train"]["base_fraction"],
    script:
        "../scripts/train_model.py"


# Base model i at another fraction of the training set than train.base_fraction (a method's
# per_method.<name>.base_fraction): the same seeds, so it differs from models/base/{i}.pt by its data.
use rule train_base as train_base_at_fraction with:
    output:
        model=f"{RESULTS}/models/base-f{{fraction}}/{{i}}.pt",
    log:
        f"{RESULTS}/logs/train_base/f{{fraction}}/{{i}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_base/f{{fraction}}/{{i}}.tsv"
    params:
        role="base",
        seed=config["seed"],
        device=config["device"],
        model=MODEL_SPEC,
        train=OPTIMISER,
        fraction=lambda wildcards: float(wildcards.fraction),


# The LDS retrains (none in a scores-only run, lds: null).
if not PLAN.scores_only:

    rule retrain_subset:
        input:
            data=f"{RESULTS}/data/dataset.h5",
        output:
            model=f"{RESULTS}/models/retrain/{{j}}.pt",
        log:
            f"{RESULTS}/logs/retrain_subset/{{j}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/retrain_subset/{{j}}.tsv"
        conda:
            CONDA_ENV
        threads: config["threads"]
        resources:
            gpu=1,
        params:
            role="retrain",
            seed=config["seed"],
            device=config["device"],
            model=MODEL_SPEC,
            train=OPTIMISER,
            fraction=config["lds"]["alpha"],
        script:
            "../scripts/train_model.py"


if PLAN.model.checkpoints:

    # Base models a researcher brings (model.checkpoints): base model i is the i-th file, loaded into
    # the model the config builds, with no training job. The file is only read.
    rule import_checkpoint:
        input:
            data=f"{RESULTS}/data/dataset.h5",
            checkpoint=lambda wildcards: PLAN.model.checkpoints[int(wildcards.i)],
        output:
            model=f"{RESULTS}/models/base/{{i}}.pt",
        log:
            f"{RESULTS}/logs/import_checkpoint/{{i}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/import_checkpoint/{{i}}.tsv"
        wildcard_constraints:
            i="|".join(map(str, range(len(PLAN.model.checkpoints)))),
        conda:
            CONDA_ENV
        params:
            model=MODEL_SPEC,
        script:
            "../scripts/import_checkpoint.py"

    ruleorder: import_checkpoint > train_base


if PLAN.checkpointed_models:

    # The same training run, also saving the intermediate checkpoints that a checkpoints grid
    # point uses (the last configured epoch is the final model itself, models/base/{i}.pt). The
    # epochs are read from the output names, not given as a parameter: dropping an epoch from
    # train.checkpoints then reruns nothing upstream, only the grid points whose members change.
    use rule train_base as train_base_checkpointed with:
        output:
            model=f"{RESULTS}/models/base/{{i}}.pt",
            checkpoints=expand(f"{RESULTS}/models/base/{{{{i}}}}-epoch{{epoch}}.pt", epoch=CHECKPOINTS[:-1]),
        wildcard_constraints:
            i="|".join(map(str, PLAN.checkpointed_models)),

    ruleorder: train_base_checkpointed > train_base


if PLAN.lora_models:

    # LoRA adapter l of base model i (Section 3.4, Appendix C.2): base model i's checkpoint at
    # lora.base_epoch, fine-tuned through peft on the adapter's own random subset.
    rule train_adapter:
        input:
            data=f"{RESULTS}/data/dataset.h5",
            base=lora_base,
        output:
            f"{RESULTS}/models/lora/{{i}}/{{l}}.pt",
        log:
            f"{RESULTS}/logs/train_adapter/{{i}}/{{l}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/train_adapter/{{i}}/{{l}}.tsv"
        conda:
            CONDA_ENV
        threads: config["threads"]
        resources:
            gpu=1,
        params:
            seed=config["seed"],
            device=config["device"],
            lora={key: config["lora"][key] for key in ("rank", "alpha", "target_modules", "bias", "fraction")},
            train=OPTIMISER | {"epochs": PLAN.lora.epochs, "lr": PLAN.lora.lr or PLAN.optimiser.lr},
        script:
            "../scripts/train_adapter.py"
