# LDS ground truth (Appendix D): the model output of every retrained model on the test set.


if not PLAN.scores_only:

    rule ground_truth:
        input:
            data=ATTRIBUTION_DATA,
            models=expand(f"{RESULTS}/models/retrain/{{j}}.pt", j=range(config["lds"]["num_subsets"])),
        output:
            f"{RESULTS}/groundtruth.h5",
        log:
            f"{RESULTS}/logs/ground_truth.log",
        benchmark:
            f"{RESULTS}/benchmarks/ground_truth.tsv"
        conda:
            CONDA_ENV
        threads: config["threads"]
        resources:
            gpu=1,
        params:
            device=config["device"],
            chunk_size=config["trak"]["chunk_size"],
        script:
            "../scripts/ground_truth.py"
