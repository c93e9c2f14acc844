# Scores of one ensemble grid point: TRAK by Eq. 2 over its members' kernels at the reading's ridge (forward_only: Q
# from the masked passes' Q files); IF, Grad-Dot and Grad-Cos by Eq. 1 over per-member scores
# (one job per member: model i or a checkpoint of it, dropout pass d).


rule attribute_trak:
    input:
        kernels=kernel_files,
        q=q_files,
    output:
        f"{RESULTS}/scores/{{method}}/{{ensemble}}/{{point}}.h5",
    log:
        f"{RESULTS}/logs/attribute/{{method}}/{{ensemble}}/{{point}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/attribute/{{method}}/{{ensemble}}/{{point}}.tsv"
    wildcard_constraints:
        method=TRAK_METHODS,
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        epochs=checkpoint_epochs,
        ridge=lambda wildcards: READINGS[wildcards.method].ridge.setting,
    script:
        "../scripts/attribute_trak.py"


rule member_scores:
    input:
        unpack(member_model),
        data=ATTRIBUTION_DATA,
    output:
        member_path("member_scores"),
    log:
        member_path("member_scores", "log"),
    benchmark:
        member_path("member_scores", "benchmark")
    wildcard_constraints:
        method=SCORED_METHODS,
        variant=r"d\d+",
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        seed=config["seed"],
        device=config["device"],
        chunk_size=config["trak"]["chunk_size"],
        algorithm=lambda wildcards: READINGS[wildcards.method].method.name,
        choices=lambda wildcards: dict(READINGS[wildcards.method].choices),
        mask_mode=lambda wildcards: READINGS[wildcards.method].mask_mode,
        test_examples=lambda wildcards: READINGS[wildcards.method].test_examples,
    script:
        "../scripts/member_scores.py"


rule attribute_mean:
    input:
        members=kernel_files,
    output:
        f"{RESULTS}/scores/{{method}}/{{ensemble}}/{{point}}.h5",
    log:
        f"{RESULTS}/logs/attribute/{{method}}/{{ensemble}}/{{point}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/attribute/{{method}}/{{ensemble}}/{{point}}.tsv"
    wildcard_constraints:
        method=SCORED_METHODS,
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        epochs=checkpoint_epochs,
    script:
        "../scripts/attribute_mean.py"
