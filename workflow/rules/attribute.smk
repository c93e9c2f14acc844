# Scores of one ensemble grid point: TRAK by Eq. 2 over its members' features; IF, Grad-Dot and
# Grad-Cos by Eq. 1 over per-member scores (one job per member: model i, dropout pass d).


rule attribute_trak:
    input:
        features=member_files,
        src=tdacore_sources("trak", "ensemble", "store", "runtime", "steplog"),
    output:
        f"{RESULTS}/scores/trak/{{ensemble}}/{{point}}.h5",
    params:
        ridge=config["trak"]["ridge"],
    threads: config["threads"]
    resources:
        gpu=1,
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/attribute/trak/{{ensemble}}/{{point}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/attribute/trak/{{ensemble}}/{{point}}.tsv"
    script:
        "../scripts/attribute_trak.py"


rule member_scores:
    input:
        data=f"{RESULTS}/data/dataset.h5",
        model=f"{RESULTS}/models/base/{{i}}.pt",
        src=tdacore_sources(
            "members", "data", "models", "outputs", "grads", "projection", "hessian", "cg", "methods", "variants", "seeds",
            "store", "runtime", "steplog",
        ),
    output:
        f"{RESULTS}/member_scores/{{method}}/{{i}}/d{{d}}.h5",
    wildcard_constraints:
        method="if|graddot|gradcos",
    params:
        seed=config["seed"],
        device=config["device"],
        chunk_size=config["trak"]["chunk_size"],
        influence=config["influence"],
        test_examples=lambda wildcards: test_examples(wildcards.method),
    threads: config["threads"]
    resources:
        gpu=1,
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/member_scores/{{method}}/{{i}}/d{{d}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/member_scores/{{method}}/{{i}}/d{{d}}.tsv"
    script:
        "../scripts/member_scores.py"


rule attribute_mean:
    input:
        members=member_files,
        src=tdacore_sources("ensemble", "store", "steplog"),
    output:
        f"{RESULTS}/scores/{{method}}/{{ensemble}}/{{point}}.h5",
    wildcard_constraints:
        method="if|graddot|gradcos",
    threads: config["threads"]
    resources:
        gpu=1,
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/attribute/{{method}}/{{ensemble}}/{{point}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/attribute/{{method}}/{{ensemble}}/{{point}}.tsv"
    script:
        "../scripts/attribute_mean.py"
