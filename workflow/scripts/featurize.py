"""Adapter: TRAK features of one member: model i (or its checkpoint) under dropout pass d, or,
for the projection-only ablation, unmasked with pass d's projection seed."""

from tdacore.ensemble import parse_member
from tdacore.members import load_trained
from tdacore.projection import make_projector
from tdacore.runtime import configure, peak_memory, reset_peak_memory, resolve_device
from tdacore.store import content_hash, write_h5
from tdacore.trak import featurize

log = configure(snakemake.threads, snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
device = resolve_device(p.device)
m = load_trained(snakemake.input.data, snakemake.input.model, device, p.test_examples, parse_member(w.model, w.variant), p.seed)
projector = make_projector(p.projection["kind"], m.meta["n_params"], p.projection["dim"], m.seed_for("projection"), device)
reset_peak_memory(device)
with m.variant() as variant:
    features = featurize(variant, m.x_train, m.y_train, m.x_test, m.y_test, projector, p.chunk_size)
log.info("member %s: phi %s in %.1f s", m.member.stem, features.phi_train.shape, features.seconds)
write_h5(
    snakemake.output[0],
    {"phi_train": features.phi_train, "phi_test": features.phi_test, "q_train": features.q_train},
    {
        **m.provenance(),
        "proj_kind": projector.kind,
        "proj_dim": projector.dim,
        "proj_seed": m.seed_for("projection"),
        "config_hash": content_hash([p.projection, p.seed]),
        "seconds": features.seconds,
        "device": str(device),
        **peak_memory(device),
    },
)
