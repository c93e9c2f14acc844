# TRAK's per-member work. featurize: features of one member, model i
# (or a checkpoint of it) under dropout pass d (variant d{d}; d0 is unmasked). featurize_projections: the unmasked
# model's gradients, computed once, under the projection of each pass d (variants p{d}: only
# random projection, Appendix F.1, and the shared-gradient forward-only kernels). forward_q: Q
# alone of one masked pass, by forward passes only (the forward-only Dropout Ensemble, Section 3.3).
# member_kernels: one member's kernel under each ridge some TRAK reading uses (tdacore.attribution.ridge).


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


if PLAN.ridges:

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
