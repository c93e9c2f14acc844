# TRAK's per-member work. featurize: features of one member, model i
# (or a checkpoint of it) under dropout pass d (variant d{d}; d0 is unmasked). featurize_projections: the unmasked
# model's gradients, computed once, under the projection of each pass d (variants p{d}: only
# random projection, Appendix F.1, and the shared-gradient forward-only kernels). forward_q: Q
# alone of one masked pass, by forward passes only (the forward-only Dropout Ensemble, Section 3.3).
# member_kernels: one member's kernel under each ridge some TRAK reading uses (tdacore.attribution.ridge).
# With featurize.shard_size each featurize job makes one part of a member's features (a training
# shard, or the test set: wildcard part), and member_solve replaces member_kernels: Phi^T Phi summed
# from the shards' partials, the test side of the kernel solved once; the training side is applied
# shard by shard where scores are made (rules/attribute.smk).


rule featurize:
    input:
        unpack(member_model),
        data=ATTRIBUTION_DATA,
    output:
        member_path("featurize"),
    log:
        member_path("featurize", "log"),
    benchmark:
        member_path("featurize", "benchmark")
    wildcard_constraints:
        variant=r"d\d+",
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        seed=config["seed"],
        mask_mode=PLAN.dropout_masks,
        device=config["device"],
        projection=config["trak"]["projection"],
        chunk_size=config["trak"]["chunk_size"],
        test_examples=PLAN.trak_test_examples,
        dtype=PLAN.storage.feature_dtype,
        rows=lambda wildcards: SHARDS.get(getattr(wildcards, "part", None)),
    script:
        "../scripts/featurize.py"


if PLAN.projection_passes:

    # The same job as featurize, for every projection pass of the unmasked model at once.
    use rule featurize as featurize_projections with:
        output:
            [
                member_path("featurize_projections").replace("{variant}", f"p{d}")
                for d in range(1, PLAN.projection_passes + 1)
            ],
        log:
            member_path("featurize_projections", "log"),
        benchmark:
            member_path("featurize_projections", "benchmark")


rule forward_q:
    input:
        unpack(member_model),
        data=ATTRIBUTION_DATA,
    output:
        member_path("forward_q"),
    log:
        member_path("forward_q", "log"),
    benchmark:
        member_path("forward_q", "benchmark")
    wildcard_constraints:
        variant=r"d[1-9]\d*",
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        seed=config["seed"],
        mask_mode=PLAN.dropout_masks,
        device=config["device"],
        chunk_size=config["trak"]["chunk_size"],
        test_examples=PLAN.trak_test_examples,
    script:
        "../scripts/forward_q.py"


if PLAN.ridges and SHARDS:

    rule member_solve:
        input:
            train=[member_path("featurize", part=part) for part in SHARDS],
            test=member_path("featurize", part="test"),
        output:
            [member_path("member_solve", ridge=ridge) for ridge in PLAN.ridges],
        log:
            member_path("member_solve", "log"),
        benchmark:
            member_path("member_solve", "benchmark")
        conda:
            CONDA_ENV
        params:
            ridges=[{"absolute": ridge.absolute, "relative": ridge.relative} for ridge in PLAN.ridges],
            shards=list(SHARDS.values()),
        script:
            "../scripts/member_solve.py"

elif PLAN.ridges:

    rule member_kernels:
        input:
            features=member_path("featurize"),
        output:
            [member_path("member_kernels", ridge=ridge) for ridge in PLAN.ridges],
        log:
            member_path("member_kernels", "log"),
        benchmark:
            member_path("member_kernels", "benchmark")
        conda:
            CONDA_ENV
        params:
            ridges=[{"absolute": ridge.absolute, "relative": ridge.relative} for ridge in PLAN.ridges],
        script:
            "../scripts/member_kernels.py"
