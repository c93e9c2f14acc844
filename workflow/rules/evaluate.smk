# LDS of one grid point's scores against the retrained models (Appendix D).


rule evaluate_lds:
    input:
        scores=f"{RESULTS}/scores/{{method}}/{{ensemble}}/{{point}}.h5",
        ground_truth=f"{RESULTS}/groundtruth.h5",
    output:
        f"{RESULTS}/lds/{{method}}/{{ensemble}}/{{point}}.json",
    log:
        f"{RESULTS}/logs/evaluate_lds/{{method}}/{{ensemble}}/{{point}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate_lds/{{method}}/{{ensemble}}/{{point}}.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/evaluate_lds.py"
