# Helpers shared by every stage: config validation, result paths, tdacore sources, the grid.

from pathlib import Path

from snakemake.utils import validate

from tdacore.ensemble import grid, parse_point
from tdacore.idx import MNIST_FILES


validate(config, schema="../schemas/config.schema.yaml")

RESULTS = f"results/{config['experiment']}"
IDX_DIR = config["data"].get("idx_dir", "resources/mnist")
TDACORE = Path(workflow.basedir).parent / "tdacore"
CONDA_ENV = "../../environment.yaml"  # python 3.11 + tdacore, for --software-deployment-method conda
METHODS = config["methods"]
PER_METHOD = config.get("per_method", {})
for _method in PER_METHOD:
    if _method not in METHODS:
        raise ValueError(f"per_method.{_method}: '{_method}' is not in methods {METHODS}")
    if PER_METHOD[_method].get("test_examples", 0) > config["data"]["n_test"]:
        raise ValueError(
            f"per_method.{_method}.test_examples = {PER_METHOD[_method]['test_examples']} exceeds data.n_test = {config['data']['n_test']}"
        )
# The ensemble grid of each method: per_method.<method>.ensembles where given, else `ensembles`.
GRIDS = {method: grid(PER_METHOD.get(method, {}).get("ensembles", config["ensembles"])) for method in METHODS}


wildcard_constraints:
    i=r"\d+",
    j=r"\d+",
    d=r"\d+",
    ensemble="|".join(sorted({point.ensemble for points in GRIDS.values() for point in points})),
    point=r"I\d+(-D\d+)?",
    method="|".join(METHODS),


def tdacore_sources(*modules):
    """The tdacore files a rule's code depends on: editing one reruns the rule and what follows."""
    return [str(TDACORE / f"{module}.py") for module in modules]


def member_files(wildcards):
    """Per-member files of a grid point: TRAK features, or another method's member scores."""
    point = parse_point(wildcards.ensemble, wildcards.point)
    if wildcards.get("method", "trak") == "trak":
        return [f"{RESULTS}/features/{m.model}/d{m.dropout_pass}.h5" for m in point.members()]
    return [f"{RESULTS}/member_scores/{wildcards.method}/{m.model}/d{m.dropout_pass}.h5" for m in point.members()]


def test_examples(method):
    """How many test examples `method` scores: the first n of the (randomly split) test set."""
    return PER_METHOD.get(method, {}).get("test_examples", config["data"]["n_test"])


def data_inputs(wildcards):
    """Raw files prepare_data reads: the MNIST IDX files for the mnist_idx source, none otherwise."""
    if config["data"]["source"] == "mnist_idx":
        return [f"{IDX_DIR}/{name}" for name in MNIST_FILES]
    return []
