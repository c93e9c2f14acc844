# Raw data and the experiment's train/test sets.
#
# Raw data (data.idx_dir's IDX files, data.cifar_dir, data.text_file, MAESTRO's folder) is read
# where it lies and never written by a run: data in place is a plain input that no rule can make,
# so Snakemake never deletes or replaces it, whatever it decides to rerun. A rule that fetches a
# piece of it exists only while that piece is missing, and only `snakemake download` may run it: a
# run that would need it stops before any job, naming the files (refuse_before_any_job); a dry run
# plans the download, to show the whole job count. Raw data in place is checked while the
# workflow is read (tdacore.data.raw: checksums, formats, example counts), before any job; the
# jobs of a cluster run, which read the workflow again, do not repeat it.

from tdacore.data.raw import check_raw_data, missing, raw_paths

# The Bach chorales of music21's corpus exported to MIDI: all of them, or the first data.pieces.
CHORALES_PIECES = config["data"].get("pieces")
CHORALES_DIR = "resources/chorales" + (f"-first{CHORALES_PIECES}" if CHORALES_PIECES else "")
RAW = raw_paths(config["data"])
RAW_MISSING = missing(config["data"])
FETCH = {str(raw.path): raw for raw in RAW_MISSING}  # each missing path -> its download
# A fetch job's parameters: the URL and checksum of its missing raw path.
FETCH_PARAMS = {path: {"url": raw.download.url, "checksum": raw.download.checksum} for path, raw in FETCH.items()}
for _raw in RAW:
    refuse_inside_results(_raw.path, _raw.key)
if not RAW_MISSING and not workflow.remote_exec:
    check_raw_data(config["data"])


# Only while one of MNIST's IDX files is missing (data.idx_dir): one job per missing file.
if any(raw.download.rule == "fetch_mnist_file" for raw in RAW_MISSING):

    rule fetch_mnist_file:
        output:
            f"{RAW_MISSING[0].path.parent}/{{name}}",
        log:
            "resources/logs/fetch_mnist/{name}.log",
        wildcard_constraints:
            name="|".join(raw.path.name for raw in RAW_MISSING),
        retries: 2
        localrule: True
        conda:
            CONDA_ENV
        params:
            download=lambda wildcards, output: FETCH_PARAMS[output[0]],
        script:
            "../scripts/fetch_file.py"


# Only while the single raw file or folder of the config's source is missing.
for _raw in [raw for raw in RAW_MISSING if raw.download.rule != "fetch_mnist_file"]:

    rule:
        name:
            _raw.download.rule
        output:
            directory(str(_raw.path)) if _raw.folder else str(_raw.path),
        log:
            f"resources/logs/{_raw.download.rule}.log",
        retries: 2
        localrule: True
        conda:
            CONDA_ENV
        params:
            download=FETCH_PARAMS[str(_raw.path)],
        script:
            "../scripts/fetch_file.py" if not _raw.folder else f"../scripts/{_raw.download.rule}.py"


# `snakemake download`: fetch every raw file or folder the config's source lacks (none: nothing to do).
rule download:
    input:
        list(FETCH),
    localrule: True


rule export_chorales:
    output:
        directory(CHORALES_DIR),
    log:
        "resources/logs/export_chorales.log",
    benchmark:
        "resources/benchmarks/export_chorales.tsv"
    conda:
        CONDA_ENV
    params:
        cache="resources/music21-cache",  # music21's parse cache ($TMPDIR/music21), kept in the working directory
        limit=CHORALES_PIECES,
    script:
        "../scripts/export_chorales.py"


rule prepare_data:
    input:
        # the source's raw files or folder, the exported chorales, or none (the bundled digits)
        raw=[CHORALES_DIR] if config["data"].get("source") == "bach_chorales" else [str(raw.path) for raw in RAW],
    output:
        f"{RESULTS}/data/dataset.h5",
    log:
        f"{RESULTS}/logs/prepare_data.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_data.tsv"
    conda:
        CONDA_ENV
    params:
        data={key: value for key, value in config["data"].items() if key != "checksums"},  # what the data is
        seed=config["seed"],
    script:
        "../scripts/prepare_data.py"


# The generative setting's test targets: base model 0 generates one event after each prompt.
rule generate_events:
    input:
        data=f"{RESULTS}/data/dataset.h5",
        model=f"{RESULTS}/models/base/0.pt",
    output:
        f"{RESULTS}/data/generated.h5",
    log:
        f"{RESULTS}/logs/generate_events.log",
    benchmark:
        f"{RESULTS}/benchmarks/generate_events.tsv"
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        device=config["device"],
        chunk_size=config["trak"]["chunk_size"],
    script:
        "../scripts/generate_events.py"
