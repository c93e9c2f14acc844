# TRAK features of one ensemble member: model i under dropout pass d (d = 0: unmasked).


rule featurize:
    input:
        data=f"{RESULTS}/data/dataset.h5",
        model=f"{RESULTS}/models/base/{{i}}.pt",
        src=tdacore_sources(
            "members", "data", "models", "outputs", "grads", "projection", "variants", "trak", "seeds", "store", "runtime", "steplog"
        ),
    output:
        f"{RESULTS}/features/{{i}}/d{{d}}.h5",
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
        f"{RESULTS}/logs/featurize/{{i}}/d{{d}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/featurize/{{i}}/d{{d}}.tsv"
    script:
        "../scripts/featurize.py"
