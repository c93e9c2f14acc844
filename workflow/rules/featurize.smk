# TRAK's per-member work. featurize: features of one member, model i (or a checkpoint of it)
# under dropout pass d (variant d{d}; d0 is unmasked) or unmasked with pass d's projection seed
# (variant p{d}, Appendix F.1). forward_q: Q alone of one masked pass, by forward passes only
# (the forward-only Dropout Ensemble, Section 3.3).

rule featurize:
    input:
        data=f"{RESULTS}/data/dataset.h5",
        model=f"{RESULTS}/models/base/{{model}}.pt",
        src=tdacore_sources(*MEMBER_SOURCES, "projection", "trak"),
    output:
        member_path("featurize"),
    params:
        seed=config["seed"],
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


rule forward_q:
    input:
        data=f"{RESULTS}/data/dataset.h5",
        model=f"{RESULTS}/models/base/{{model}}.pt",
        src=tdacore_sources(*MEMBER_SOURCES, "trak"),
    output:
        member_path("forward_q"),
    wildcard_constraints:
        variant=r"d[1-9]\d*",
    params:
        seed=config["seed"],
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
