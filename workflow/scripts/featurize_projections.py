"""Adapter: TRAK features of model i (or its checkpoint), unmasked, under the projection of each
pass d = 1..P, its per-sample gradients computed once (variants p{d}): the members of the "only
random projection" ablation (Appendix F.1) and the kernels of the shared-gradient forward-only
Dropout Ensemble (Appendix E's "shared gradients")."""

from dataclasses import replace
from pathlib import Path

from tdacore.ensemble import parse_member
from tdacore.members import load_trained
from tdacore.projection import make_projector
from tdacore.runtime import configure, peak_memory, reset_peak_memory, resolve_device
from tdacore.store import content_hash, write_h5
from tdacore.trak import featurize_shared

log = configure(snakemake.threads, snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
device = resolve_device(p.device)
m = load_trained(snakemake.input.data, snakemake.input.model, device, p.test_examples, parse_member(w.model, "d0"), p.seed)
passes = [replace(m, member=parse_member(w.model, Path(path).stem)) for path in snakemake.output]
projectors = [make_projector(p.projection["kind"], m.meta["n_params"], p.projection["dim"], pm.seed_for("projection"), device) for pm in passes]
reset_peak_memory(device)
with m.variant() as unmasked:
    features, shared_seconds = featurize_shared(unmasked, m.x_train, m.y_train, m.x_test, m.y_test, projectors, p.chunk_size)
log.info("model %s: gradients once (%.1f s), %d projections (%.1f s)", w.model, shared_seconds, len(passes), sum(f.seconds for f in features))
for path, pm, projector, f in zip(snakemake.output, passes, projectors, features):
    write_h5(
        path,
        {"phi_train": f.phi_train, "phi_test": f.phi_test, "q_train": f.q_train},
        {
            **pm.provenance(),
            "proj_kind": projector.kind,
            "proj_dim": projector.dim,
            "proj_seed": pm.seed_for("projection"),
            "config_hash": content_hash([p.projection, p.seed]),
            "seconds": f.seconds,
            "shared_job": f"{w.model}/p1-p{len(passes)}",
            "shared_seconds": shared_seconds,
            "device": str(device),
            **peak_memory(device),
        },
    )
