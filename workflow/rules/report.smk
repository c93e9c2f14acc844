# Final tables and figures.


rule lds_table:
    input:
        lds=[f"{RESULTS}/lds/{method}/{point.ensemble}/{point.name}.json" for method in METHODS for point in GRIDS[method]],
        src=tdacore_sources("report", "steplog"),
    output:
        f"{RESULTS}/tables/lds.tsv",
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/lds_table.log",
    script:
        "../scripts/lds_table.py"


rule lds_figure:
    input:
        table=f"{RESULTS}/tables/lds.tsv",
        src=tdacore_sources("plots", "report", "steplog"),
    output:
        f"{RESULTS}/figures/lds_vs_I.png",
    params:
        title=config["experiment"]
        + (f" (TRAK: {config['trak']['projection']['kind']} projection, k={config['trak']['projection']['dim']})" if "trak" in METHODS else ""),
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/lds_figure.log",
    script:
        "../scripts/lds_figure.py"
