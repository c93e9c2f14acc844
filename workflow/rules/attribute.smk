# TRAK scores of one ensemble grid point (Eq. 2 over its members).


rule attribute:
    input:
        features=member_features,
        src=tdacore_sources("trak", "ensemble", "store", "runtime"),
    output:
        f"{RESULTS}/scores/trak/{{ensemble}}/{{point}}.h5",
    params:
        ridge=config["trak"]["ridge"],
    threads: config["threads"]
    resources:
        gpu=1,
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/attribute/trak/{{ensemble}}/{{point}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/attribute/trak/{{ensemble}}/{{point}}.tsv"
    script:
        "../scripts/attribute.py"
