# `snakemake bench`: featurization throughput against the machine's matmul bound (tdacore.evaluation.bench,
# config/bench.yaml). Asked for by name only: no experiment's `all` depends on it.

import yaml

from tdacore.models.registry import model_reference

# Its settings file and the config files whose model and data sizes it takes, both in the
# repository's config/.
BENCH_CONFIG = str(TDACORE.parent / "config" / "bench.yaml")


# The config files of the settings in the benchmark's list (none without the file: the bench
# rule then reports it missing, and only when asked for), and their models' factories.
BENCH_SETTINGS, BENCH_FACTORIES = [], []
if Path(BENCH_CONFIG).exists():
    with open(BENCH_CONFIG) as _handle:
        BENCH_SETTINGS = [str(TDACORE.parent / setting["config"]) for setting in yaml.safe_load(_handle)["settings"]]
    for _path in BENCH_SETTINGS:
        with open(_path) as _handle:
            BENCH_FACTORIES.append(model_reference(yaml.safe_load(_handle)["model"]))


rule bench:
    input:
        bench=BENCH_CONFIG,
        settings=BENCH_SETTINGS,
    output:
        featurize="results/bench/featurize.tsv",
        curvature="results/bench/curvature.tsv",
    log:
        "results/bench/bench.log",
    conda:
        CONDA_ENV
    threads: lambda wildcards: workflow.cores  # all of them; evaluated only when the bench is asked for
    resources:
        gpu=1,
    script:
        "../scripts/bench.py"
