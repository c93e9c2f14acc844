"""Adapter: LDS of one grid point's scores (Appendix D): from the whole score matrix, or (TRAK with
featurize.shard_size) from the subset predictions its blocks summed to."""

import json

from tdacore.ensembles.grid import point_columns
from tdacore.evaluation.lds import lds_from_predictions, lds_per_example, summarize
from tdacore.infra.precision import stored_dtype
from tdacore.infra.steplog import start_log
from tdacore.infra.store import atomic_path, read_attrs, read_h5, require_agreement

log = start_log(snakemake.log[0])
score_attrs = read_attrs(snakemake.input.scores)
from_predictions = score_attrs.get("lds_input") == "subset_predictions"
truth, truth_attrs = read_h5(snakemake.input.ground_truth, ["outputs", "masks"])
require_agreement(
    {snakemake.input.scores: score_attrs, snakemake.input.ground_truth: truth_attrs},
    ["train_hash", "test_hash", "model_output"],
)
# A method may score only the first n test examples (per_method.<method>.test_examples).
scored = truth["outputs"][:, : score_attrs["test_examples"]]
if from_predictions:
    predictions = read_h5(snakemake.input.scores, ["subset_predictions"])[0]["subset_predictions"]
    per_example = lds_from_predictions(predictions, scored)
else:
    per_example = lds_per_example(read_h5(snakemake.input.scores, ["scores"])[0]["scores"], truth["masks"], scored)
record = {
    "method": snakemake.wildcards.method,  # the method's name: a method or a reading of one (per_method)
    **point_columns(score_attrs),
    "serving_seconds": score_attrs["serving_seconds"],
    "scores_file": str(snakemake.input.scores),
    "scores_dtype": stored_dtype(score_attrs, "scores"),
    "features_dtype": score_attrs.get("features_dtype", "float32"),
    "lds_from": "subset_predictions" if from_predictions else "scores",
    **summarize(per_example),
    "per_example": [None if x != x else x for x in per_example.tolist()],
}
if record["n_undefined"]:
    log.warning("LDS undefined (constant ranks) for %d of %d test examples", record["n_undefined"], record["n_test"])
log.info("%s %s I=%d D=%d: LDS %.4f", record["method"], record["ensemble"], record["I"], record["D"], record["lds"])
with atomic_path(snakemake.output[0]) as tmp, open(tmp, "w") as handle:
    json.dump(record, handle, indent=1)
