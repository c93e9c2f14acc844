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
    retries: 2
    script:
        "../scripts/fetch_mnist.py"


rule fetch_mnist:
    input:
        [f"{IDX_DIR}/{name}" for name in MNIST_FILES],


rule export_chorales:
    output:
        directory(CHORALES_DIR),
    params:
        cache="resources/music21-cache",  # music21's parse cache ($TMPDIR/music21), kept in the working directory
        limit=CHORALES_PIECES,
    conda:
        CONDA_ENV
    log:
        "resources/logs/export_chorales.log",
    benchmark:
        "resources/benchmarks/export_chorales.tsv"
    script:
        "../scripts/export_chorales.py"


rule fetch_maestro:
    output:
        directory(MAESTRO_DIR),
    params:
        url=MAESTRO_URL,
        sha256=MAESTRO_SHA256,
    conda:
        CONDA_ENV
    log:
        "resources/logs/fetch_maestro.log",
    retries: 2
    script:
        "../scripts/fetch_maestro.py"


rule fetch_cifar10:
    output:
        directory(CIFAR_DIR),
    params:
        url=CIFAR10_URL,
        md5=CIFAR10_MD5,
    conda:
        CONDA_ENV
    log:
        "resources/logs/fetch_cifar10.log",
    retries: 2
    script:
        "../scripts/fetch_cifar10.py"


rule fetch_shakespeare:
    output:
        SHAKESPEARE_FILE,
    params:
        url=SHAKESPEARE_URL,
        sha256=SHAKESPEARE_SHA256,
    conda:
        CONDA_ENV
    log:
        "resources/logs/fetch_shakespeare.log",
    retries: 2
    script:
        "../scripts/fetch_shakespeare.py"


rule prepare_data:
    input:
        raw=data_inputs,
        src=tdacore_sources("data", "idx", "cifar", "midi", "music_corpus", "music_data", "text_data", "settings", "seeds", "store", "steplog"),
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


# The generative setting's test targets: base model 0 generates one event after each prompt.
rule generate_events:
    input:
        data=f"{RESULTS}/data/dataset.h5",
        model=f"{RESULTS}/models/base/0.pt",
        src=tdacore_sources("data", "generation", *MODEL_SOURCES, "store", "runtime", "steplog"),
    output:
        f"{RESULTS}/data/generated.h5",
    params:
        device=config["device"],
        chunk_size=config["trak"]["chunk_size"],
    threads: config["threads"]
    resources:
        gpu=1,
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/generate_events.log",
    benchmark:
        f"{RESULTS}/benchmarks/generate_events.tsv"
    script:
        "../scripts/generate_events.py"
