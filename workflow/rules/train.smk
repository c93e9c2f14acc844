# Independently trained base models (Appendix A: each on its own random half) and the LDS
# retrains (Appendix D: one model per random subset S_j of size alpha * n).

TRAIN_SOURCES = tdacore_sources("data", "models", "train", "seeds", "store", "runtime", "steplog")
OPTIMISER = {key: value for key, value in config["train"].items() if key != "base_fraction"}


rule train_base:
    input:
        data=f"{RESULTS}/data/dataset.h5",
        src=TRAIN_SOURCES,
    output:
        f"{RESULTS}/models/base/{{i}}.pt",
    params:
        role="base",
        seed=config["seed"],
        device=config["device"],
        model=config["model"],
        train=OPTIMISER,
        fraction=config["train"]["base_fraction"],
    threads: config["threads"]
    resources:
        gpu=1,
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/train_base/{{i}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_base/{{i}}.tsv"
    script:
        "../scripts/train_model.py"


rule retrain_subset:
    input:
        data=f"{RESULTS}/data/dataset.h5",
        src=TRAIN_SOURCES,
    output:
        f"{RESULTS}/models/retrain/{{j}}.pt",
    params:
        role="retrain",
        seed=config["seed"],
        device=config["device"],
        model=config["model"],
        train=OPTIMISER,
        fraction=config["lds"]["alpha"],
    threads: config["threads"]
    resources:
        gpu=1,
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/retrain_subset/{{j}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/retrain_subset/{{j}}.tsv"
    script:
        "../scripts/train_model.py"
