"""Adapter: TRAK features of model i (or its checkpoint), for each output file's member: one
dropout pass d (rule featurize, variant d{d}; d0 is unmasked), or every projection pass p1..pP
of the unmasked model (rule featurize_projections: only random projection, Appendix F.1, and the
shared-gradient forward-only kernels). Their kernels, one per ridge, are rule member_kernels'.
The job computes its per-sample gradients once; each file records its own projection time and the
job's shared time (tdacore.attribution.trak.featurize_shared). With featurize.shard_size, a job
makes one part of them (wildcard part): a training shard s{k} (its rows' features, Q and Gram
partial Phi_s^T Phi_s) or the test set; rule member_solve reduces them."""

import json
from dataclasses import replace
from pathlib import Path

from tdacore.attribution.projection.projectors import make_projector
from tdacore.attribution.projection.spec import Projection
from tdacore.attribution.shards import gram_partial
from tdacore.attribution.trak import featurize_part, featurize_shared
from tdacore.data.batches import take
from tdacore.ensembles.grid import parse_member
from tdacore.ensembles.members import load_trained
from tdacore.infra.precision import round_trip
from tdacore.infra.runtime import configure, peak_memory, reset_peak_memory, resolve_device
from tdacore.infra.store import content_hash, write_h5

log = configure(snakemake.threads, snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
device = resolve_device(p.device)
part = w.part if "part" in w.keys() else None  # featurize.shard_size: s{k} or test
variants = [Path(path).stem if part is None else Path(path).parent.name for path in snakemake.output]
m = load_trained(
    snakemake.input.data,
    snakemake.input.model,
    device,
    p.test_examples,
    parse_member(w.model, variants[0]),
    p.seed,
    p.mask_mode,
)
members = [replace(m, member=parse_member(w.model, variant)) for variant in variants]
if len(members) > 1 and any(pm.member.masked for pm in members):  # the job runs the model under one mask
    raise ValueError(f"{snakemake.output}: several outputs of one job must all be unmasked projection passes")
# trak.projection.draw n > 0: another independent draw of every member's projection (the spread over draws)
spec = Projection.from_config(p.projection)
role = "projection" if spec.draw == 0 else f"projection-draw{spec.draw}"
projectors = [make_projector(spec, m.model, m.x_train, pm.seed_for(role), device) for pm in members]
reset_peak_memory(device)
with m.variant() as variant:
    if part is None:
        made, shared_seconds = featurize_shared(
            variant, m.x_train, m.y_train, m.x_test, m.y_test, projectors, p.chunk_size, m.outputs
        )
        arrays = [{"phi_train": f.phi_train, "phi_test": f.phi_test, "q_train": f.q_train} for f in made]
    elif part == "test":
        made, shared_seconds = featurize_part(
            variant, m.x_test, m.y_test, projectors, p.chunk_size, m.outputs, with_q=False
        )
        arrays = [{"phi_test": f.phi} for f in made]
    else:
        rows = slice(*p.rows)
        made, shared_seconds = featurize_part(
            variant, take(m.x_train, rows), m.y_train[rows], projectors, p.chunk_size, m.outputs
        )
        # Phi_s^T Phi_s of the features as stored (a narrower dtype rounds them), as the unsharded kernel sees them
        arrays = [{"phi_train": f.phi, "q_train": f.q, "gram": gram_partial(round_trip(f.phi, p.dtype))} for f in made]
log.info(
    "model %s %s%s: gradients and Q once (%.1f s), %d projection(s) (%.1f s)",
    w.model,
    variants[0] if len(variants) == 1 else f"{variants[0]}..{variants[-1]}",
    "" if part is None else f" part {part}",
    shared_seconds,
    len(members),
    sum(f.seconds for f in made),
)
shared_job = f"{w.model}/{variants[0]}-{variants[-1]}"
for path, pm, projector, f, stored in zip(snakemake.output, members, projectors, made, arrays):
    write_h5(
        path,
        stored,
        {
            **pm.provenance(),
            "proj_kind": projector.kind,
            "proj_dim": projector.dim,
            "proj_spec": json.dumps(p.projection, sort_keys=True),
            "proj_seed": pm.seed_for(role),
            "config_hash": content_hash([p.projection, p.seed, p.dtype]),
            "seconds": f.seconds,
            "shared_job": shared_job if part is None else f"{shared_job}/{part}",
            "shared_seconds": shared_seconds,
            "device": str(device),
            **({} if part is None else {"part": part}),
            **({"rows": list(p.rows)} if part not in (None, "test") else {}),
            **peak_memory(device),
        },
        {name: p.dtype for name in stored if name.startswith("phi")},
    )
