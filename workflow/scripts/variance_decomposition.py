"""Adapter: Lemma 5.1 on one method's measured per-member scores for one two-step kind (dropout
or lora; tdacore.evaluation.theory): its error moments about each reading of tau(Theta*) (the naive ensemble
of every available model; the mean, from held-out models), and predicted against resampled Delta
for each (naive I, two-step K, D) of the grid."""

import json

import numpy as np

from tdacore.ensembles.combine import trak_scores
from tdacore.evaluation.theory import REFERENCES, Layout, centre, joint_gram, lemma_rows
from tdacore.infra.steplog import start_log
from tdacore.infra.store import atomic_path, read_attrs, read_h5, require_agreement

log = start_log(snakemake.log[0])
p = snakemake.params
require_agreement(
    {path: read_attrs(path) for path in [*snakemake.input.naive, *snakemake.input.variants]},
    ["train_hash", "test_hash", "model_output"],
)


def member_scores(path: str) -> np.ndarray:
    """A member's own scores: TRAK's Eq. 2 with its own kernel and Q; other methods' stored scores."""
    if p.algorithm != "trak":
        return read_h5(path, ["scores"])[0]["scores"].astype(np.float64)
    arrays, _ = read_h5(path, ["kernel", "q_train"])
    return trak_scores([arrays["kernel"].astype(np.float64)], [arrays["q_train"]])


naive = np.stack([member_scores(path) for path in snakemake.input.naive])
variants = np.stack([member_scores(path) for path in snakemake.input.variants]).reshape(
    p.groups, p.variants, *naive.shape[1:]
)
gram = joint_gram(naive, variants)  # every member's scores, uncentred
layout = Layout(len(naive), p.groups, p.variants)
# "all": about the naive ensemble of every available model; "leave_out": about the mean
centred = {
    "all": centre(gram, np.r_[np.full(len(naive), 1 / len(naive)), np.zeros(p.groups * p.variants)]),
    "leave_out": gram,
}
references = {}
for reference in REFERENCES:
    moments, sem, rows = lemma_rows(
        centred[reference], layout, reference, p.sizes, [tuple(point) for point in p.points], p.draws, p.seed
    )
    log.info(
        "%s %s about %s: moments %s (SEM %s), %d rows",
        p.method,
        p.kind,
        reference,
        moments.as_dict(),
        sem.as_dict(),
        len(rows),
    )
    references[reference] = {"moments": moments.as_dict(), "moments_sem": sem.as_dict(), "rows": rows}
record = {
    "method": p.method,
    "kind": p.kind,
    "models": len(naive),
    "groups": p.groups,
    "variants": p.variants,
    "test_examples": int(naive.shape[1]),
    "references": references,
}
with atomic_path(snakemake.output[0]) as tmp, open(tmp, "w") as handle:
    json.dump(record, handle, indent=1)
