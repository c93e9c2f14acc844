# Scores of one ensemble grid point: TRAK by Eq. 2 over its members' kernels at the reading's ridge (forward_only: Q
# from the masked passes' Q files); IF, Grad-Dot and Grad-Cos by Eq. 1 over per-member scores
# (one job per member: model i or a checkpoint of it, dropout pass d). With featurize.shard_size,
# TRAK's scores are made per (grid point, training shard) and collected per grid point.


if SHARDS:

    # TRAK with featurize.shard_size: one job per grid point and training shard (Eq. 2 on the
    # shard's columns, test_block rows at a time, reduced to the top-k and the LDS's subset
    # predictions as they are made), then one that merges them into the point's score file.
    rule score_block:
        input:
            solves=kernel_files,
            features=shard_feature_files,
            q=q_files,
            ground_truth=[] if PLAN.scores_only else f"{RESULTS}/groundtruth.h5",
        output:
            f"{RESULTS}/blocks/{{method}}/{{ensemble}}/{{point}}/{{part}}.h5",
        log:
            f"{RESULTS}/logs/blocks/{{method}}/{{ensemble}}/{{point}}/{{part}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/blocks/{{method}}/{{ensemble}}/{{point}}/{{part}}.tsv"
        wildcard_constraints:
            method=TRAK_METHODS,
            part=r"s\d+",
        conda:
            CONDA_ENV
        threads: config["threads"]
        params:
            epochs=checkpoint_epochs,
            ridge=lambda wildcards: READINGS[wildcards.method].ridge.setting,
            rows=lambda wildcards: SHARDS[wildcards.part],
            n_train=PLAN.shards[-1].stop,
            test_block=PLAN.storage.test_block,
            top_k=PLAN.storage.top_k,
            full_max=PLAN.storage.full_max,
            dtype=PLAN.storage.scores_dtype,
        script:
            "../scripts/score_block.py"

    rule collect_scores:
        input:
            blocks=block_files,
            solves=kernel_files,
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
        params:
            epochs=checkpoint_epochs,
            shards=list(SHARDS.values()),
            full_max=PLAN.storage.full_max,
            top_k=PLAN.storage.top_k,
            test_block=PLAN.storage.test_block,
            dtype=PLAN.storage.scores_dtype,
        script:
            "../scripts/collect_scores.py"

else:

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
            dtype=PLAN.storage.scores_dtype,
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
        dtype=PLAN.storage.scores_dtype,
    script:
        "../scripts/attribute_mean.py"
