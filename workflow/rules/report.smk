# Final rules: the LDS table, the cost tables, the figures; each marked for `snakemake --report`
# with a caption (workflow/report/*.rst) that says what it shows and which paper figure or table
# it mirrors.

# A sweep's LDS files: per grid point its readings share, {reading: LDS file}.
SWEEP_FILES = {
    name: [{r: point_file("lds", r, p) for r in sweep.readings} for p in sweep.points]
    for name, sweep in PLAN.sweeps.items()
}
# Figure 2 (forward-only against full Dropout at a fixed I) needs both kinds for TRAK.
FORWARD_ONLY_FIGURE = "trak" in READINGS and any(
    {"dropout", kind} <= {p.ensemble for p in READINGS["trak"].grid} for kind in FORWARD_ONLY
)
TITLE = PLAN.experiment + (
    f" (TRAK: {PLAN.projection.kind} projection, k={PLAN.projection.dim})" if "trak" in READINGS else ""
)
# The table each figure is drawn from (the others: the cost table).
FIGURE_TABLES = {"lds_vs_I": "lds", "lemma": "lemma", "selected_lds_vs_I": "selection"}
THEORY_DRAWS = 200  # Section 5: random subsets per measured squared error
PLAN_MAX_VARIANTS = 50  # the planner's largest D (or L) per base model: the paper's largest D


# What `snakemake` (the target all) and the report make: every table and every figure the grid has
# data for. A scores-only run (lds: null): every grid point's scores, the proponents figures and
# the cost tables (without LDS columns).
FINAL_OUTPUTS = [
    f"{RESULTS}/tables/{name}.{kind}"
    for name in ("costs", "relative_costs", "peak_memory", *(() if PLAN.scores_only else ("lds",)))
    for kind in ("tsv", "html")
]
FINAL_OUTPUTS += [f"{RESULTS}/figures/proponents_{name}.png" for name in READINGS]
if PLAN.scores_only:
    FINAL_OUTPUTS += point_files("scores")
else:
    FINAL_OUTPUTS += [f"{RESULTS}/figures/lds_vs_I.png", f"{RESULTS}/figures/lds_vs_cost.png"]
    FINAL_OUTPUTS += [f"{RESULTS}/figures/forward_only.png"] if FORWARD_ONLY_FIGURE else []
    FINAL_OUTPUTS += [f"{RESULTS}/figures/checkpoints.png"] if "checkpoints" in PLAN.kinds else []
if PLAN.sweeps:
    FINAL_OUTPUTS += [f"{RESULTS}/tables/selection.{ext}" for ext in ("tsv", "html")] + [
        f"{RESULTS}/figures/selected_lds_vs_I.png"
    ]
if PLAN.theory:
    FINAL_OUTPUTS += [f"{RESULTS}/tables/{name}.{ext}" for name in ("lemma", "plan") for ext in ("tsv", "html")]
    FINAL_OUTPUTS.append(f"{RESULTS}/figures/lemma.png")


rule lds_table:
    input:
        lds=point_files("lds"),
    output:
        tsv=f"{RESULTS}/tables/lds.tsv",
        html=report(
            f"{RESULTS}/tables/lds.html", caption="../report/lds_table.rst", category="Tables", labels={"table": "LDS"}
        ),
    log:
        f"{RESULTS}/logs/lds_table.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/lds_table.py"


rule cost_tables:
    input:
        lds=[] if PLAN.scores_only else point_files("lds"),
        scores=point_files("scores"),
        benchmarks=[
            path
            for name, reading in READINGS.items()
            for point in reading.grid
            for path in serving_benchmarks(name, point)
        ],
    output:
        costs=f"{RESULTS}/tables/costs.tsv",
        relative_costs=f"{RESULTS}/tables/relative_costs.tsv",
        peak_memory=f"{RESULTS}/tables/peak_memory.tsv",
        # HTML renderings for the report (which shows HTML, not TSV)
        costs_html=report(
            f"{RESULTS}/tables/costs.html", caption="../report/costs.rst", category="Tables", labels={"table": "costs"}
        ),
        relative_costs_html=report(
            f"{RESULTS}/tables/relative_costs.html",
            caption="../report/relative_costs.rst",
            category="Tables",
            labels={"table": "relative costs"},
        ),
        peak_memory_html=report(
            f"{RESULTS}/tables/peak_memory.html",
            caption="../report/peak_memory.rst",
            category="Tables",
            labels={"table": "peak memory"},
        ),
    log:
        f"{RESULTS}/logs/cost_tables.log",
    conda:
        CONDA_ENV
    params:
        points=[
            {"method": name, "point": point.name, "benchmarks": serving_benchmarks(name, point)}
            for name, reading in READINGS.items()
            for point in reading.grid
        ],
    script:
        "../scripts/cost_tables.py"


rule figure:
    input:
        table=lambda wildcards: f"{RESULTS}/tables/{FIGURE_TABLES.get(wildcards.figure, 'costs')}.tsv",
    output:
        report(
            f"{RESULTS}/figures/{{figure}}.png",
            caption="../report/figures.rst",
            category="Figures",
            labels={"figure": "{figure}"},
        ),
    log:
        f"{RESULTS}/logs/figures/{{figure}}.log",
    wildcard_constraints:
        figure="lds_vs_I|lds_vs_cost|forward_only|checkpoints|lemma|selected_lds_vs_I",
    conda:
        CONDA_ENV
    params:
        title=TITLE,
    script:
        "../scripts/figure.py"


# What a user looks at first: for a few test examples, the training examples that raise and that
# lower the model output most, by the scores of the reading's largest ensemble.
rule proponents:
    input:
        scores=lambda wildcards: point_file("scores", wildcards.method, showcase_point(wildcards.method)),
        data=ATTRIBUTION_DATA,
    output:
        report(
            f"{RESULTS}/figures/proponents_{{method}}.png",
            caption="../report/proponents.rst",
            category="Figures",
            labels={"figure": "proponents", "method": "{method}"},
        ),
    log:
        f"{RESULTS}/logs/figures/proponents_{{method}}.log",
    conda:
        CONDA_ENV
    params:
        title=lambda wildcards: f"{TITLE}: {wildcards.method}, {showcase_point(wildcards.method).ensemble} "
        f"{showcase_point(wildcards.method).name}",
    script:
        "../scripts/proponents.py"


# Section 5: Lemma 5.1 on the per-member scores the grid already has (no new training or
# featurization), one job per method and two-step kind, and one table of them all.
rule variance_decomposition:
    input:
        naive=lambda wildcards: theory_members(wildcards.method, wildcards.kind)[0],
        variants=lambda wildcards: theory_members(wildcards.method, wildcards.kind)[1],
    output:
        f"{RESULTS}/theory/{{method}}/{{kind}}.json",
    log:
        f"{RESULTS}/logs/theory/{{method}}/{{kind}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/theory/{{method}}/{{kind}}.tsv"
    conda:
        CONDA_ENV
    params:
        method=lambda wildcards: wildcards.method,
        algorithm=lambda wildcards: READINGS[wildcards.method].method.name,
        kind=lambda wildcards: wildcards.kind,
        groups=lambda wildcards: PLAN.theory[wildcards.method, wildcards.kind].groups,
        variants=lambda wildcards: PLAN.theory[wildcards.method, wildcards.kind].variants,
        sizes=lambda wildcards: list(PLAN.theory[wildcards.method, wildcards.kind].sizes),
        points=lambda wildcards: list(PLAN.theory[wildcards.method, wildcards.kind].points),
        draws=THEORY_DRAWS,
        seed=PLAN.seed,
    script:
        "../scripts/variance_decomposition.py"


rule lemma_table:
    input:
        theory=[f"{RESULTS}/theory/{method}/{kind}.json" for method, kind in PLAN.theory],
    output:
        tsv=f"{RESULTS}/tables/lemma.tsv",
        html=report(
            f"{RESULTS}/tables/lemma.html",
            caption="../report/lemma.rst",
            category="Tables",
            labels={"table": "Lemma 5.1"},
        ),
    log:
        f"{RESULTS}/logs/lemma_table.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/lemma_table.py"


# Beyond the paper: the cheapest two-step ensemble predicted to match each naive one, from the
# Section 5 moments and the measured costs, validated on the measured grid.
rule plan:
    input:
        theory=[f"{RESULTS}/theory/{method}/{kind}.json" for method, kind in PLAN.theory],
        costs=f"{RESULTS}/tables/costs.tsv",
    output:
        tsv=f"{RESULTS}/tables/plan.tsv",
        html=report(
            f"{RESULTS}/tables/plan.html",
            caption="../report/plan.rst",
            category="Tables",
            labels={"table": "ensemble planner"},
        ),
    log:
        f"{RESULTS}/logs/plan.log",
    conda:
        CONDA_ENV
    params:
        max_variants=PLAN_MAX_VARIANTS,
    script:
        "../scripts/plan.py"


rule selection_table:
    input:
        lds=[path for files in SWEEP_FILES.values() for point in files for path in point.values()],
    output:
        tsv=f"{RESULTS}/tables/selection.tsv",
        html=report(
            f"{RESULTS}/tables/selection.html",
            caption="../report/selection.rst",
            category="Tables",
            labels={"table": "selection"},
        ),
    log:
        f"{RESULTS}/logs/selection_table.log",
    conda:
        CONDA_ENV
    params:
        sweeps=SWEEP_FILES,
        settings={name: dict(sweep.settings) for name, sweep in PLAN.sweeps.items()},
        selection=config["selection"],
    script:
        "../scripts/selection_table.py"
