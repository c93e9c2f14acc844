# `snakemake bench`: featurization throughput against the machine's matmul bound (tdacore.evaluation.bench,
# config/bench.yaml). Asked for by name only: no experiment's `all` depends on it.

rule bench:
    input:
        bench=BENCH_CONFIG,
        settings=bench_settings(),
    output:
        featurize="results/bench/featurize.tsv",
        curvature="results/bench/curvature.tsv",
    threads: lambda wildcards: workflow.cores  # all of them; evaluated only when the bench is asked for
    resources:
        gpu=1,
    conda:
        CONDA_ENV
    log:
        "results/bench/bench.log",
    script:
        "../scripts/bench.py"
