# Raw data and the experiment's train/test sets.


rule fetch_mnist_file:
    output:
        f"{IDX_DIR}/{{name}}",
    wildcard_constraints:
        name="|".join(MNIST_FILES),
    params:
        md5=lambda wildcards: MNIST_FILES[wildcards.name],
    conda:
        CONDA_ENV
    log:
        f"{IDX_DIR}/logs/{{name}}.log",
    localrule: True
    retries: 2
    script:
        "../scripts/fetch_mnist.py"


rule fetch_mnist:
    input:
        [f"{IDX_DIR}/{name}" for name in MNIST_FILES],
    localrule: True


rule prepare_data:
    input:
        raw=data_inputs,
        src=tdacore_sources("data", "idx", "seeds", "store", "steplog"),
    output:
        f"{RESULTS}/data/dataset.h5",
    params:
        data=config["data"],
        seed=config["seed"],
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/prepare_data.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_data.tsv"
    script:
        "../scripts/prepare_data.py"
