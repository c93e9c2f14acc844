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
    wildcard_constraints:
        variant=r"d\d+",
    params:
        seed=config["seed"],
        mask_mode=mask_mode("trak"),
        device=config["device"],
        projection=config["trak"]["projection"],
        chunk_size=config["trak"]["chunk_size"],
        test_examples=test_examples("trak"),
    threads: config["threads"]
    resources:
        gpu=1,
    conda:
        CONDA_ENV
    log:
        member_path("featurize", "log"),
    benchmark:
        member_path("featurize", "benchmark")
    script:
        "../scripts/featurize.py"


if PROJECTION_PASSES:

    rule featurize_projections:
        input:
            unpack(member_model),
            data=ATTRIBUTION_DATA,
        output:
            [member_path("featurize_projections").replace("{variant}", f"p{d}") for d in range(1, PROJECTION_PASSES + 1)],
        params:
            seed=config["seed"],
            mask_mode=mask_mode("trak"),
            device=config["device"],
            projection=config["trak"]["projection"],
            chunk_size=config["trak"]["chunk_size"],
            test_examples=test_examples("trak"),
        threads: config["threads"]
        resources:
            gpu=1,
        conda:
            CONDA_ENV
        log:
            member_path("featurize_projections", "log"),
        benchmark:
            member_path("featurize_projections", "benchmark")
        script:
            "../scripts/featurize.py"


rule forward_q:
    input:
        unpack(member_model),
        data=ATTRIBUTION_DATA,
    output:
        member_path("forward_q"),
    wildcard_constraints:
        variant=r"d[1-9]\d*",
    params:
        seed=config["seed"],
        mask_mode=mask_mode("trak"),
        device=config["device"],
        chunk_size=config["trak"]["chunk_size"],
        test_examples=test_examples("trak"),
    threads: config["threads"]
    resources:
        gpu=1,
    conda:
        CONDA_ENV
    log:
        member_path("forward_q", "log"),
    benchmark:
        member_path("forward_q", "benchmark")
    script:
        "../scripts/forward_q.py"


if RIDGES:

    rule member_kernels:
        input:
            features=member_path("featurize"),
        output:
            [member_path("member_kernels", ridge=ridge) for ridge in RIDGES],
        params:
            ridges=[{"absolute": ridge.absolute, "relative": ridge.relative} for ridge in RIDGES],
        conda:
            CONDA_ENV
        log:
            member_path("member_kernels", "log"),
        benchmark:
            member_path("member_kernels", "benchmark")
        script:
            "../scripts/member_kernels.py"
