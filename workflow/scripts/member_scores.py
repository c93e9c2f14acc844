"""Adapter: scores of one member (model i or its checkpoint, dropout pass d) by IF, Grad-Dot or
Grad-Cos."""

import time

from tdacore.attribution.methods import score_matrix
from tdacore.ensembles.grid import parse_member
from tdacore.ensembles.members import load_trained
from tdacore.infra.runtime import configure, peak_memory, reset_peak_memory, resolve_device
from tdacore.infra.store import content_hash, write_h5

log = configure(snakemake.threads, snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
method = p.algorithm  # w.method names the method or a reading of it (per_method)
device = resolve_device(p.device)
m = load_trained(
    snakemake.input.data,
    snakemake.input.model,
    device,
    p.test_examples,
    parse_member(w.model, w.variant),
    p.seed,
    p.mask_mode,
)
settings = dict(p.choices)  # what all members of a grid point share: IF's settings and curvature, the gradient
options = {**settings, "seed": m.seed_for("lanczos")} if method == "if" else settings
reset_peak_memory(device)
start = time.perf_counter()
with m.variant() as variant:
    scores, info = score_matrix(
        method, variant, m.x_train, m.y_train, m.x_test, m.y_test, chunk_size=p.chunk_size, outputs=m.outputs, **options
    )
seconds = time.perf_counter() - start
if method == "if" and not info["cg_converged"]:
    log.warning(
        "CG did not reach rtol %g in %d iterations for %d of %d test examples (worst relative residual %.3g)",
        options["rtol"],
        info["cg_iterations"],
        sum(r > options["rtol"] for r in info["cg_relative_residual"]),
        len(info["cg_relative_residual"]),
        max(info["cg_relative_residual"]),
    )
log.info(
    "%s member %s: scores %s in %.1f s %s",
    method,
    m.member.stem,
    scores.shape,
    seconds,
    {k: v for k, v in info.items() if k != "cg_relative_residual"},
)
write_h5(
    snakemake.output[0],
    {"scores": scores},
    {
        "method": method,
        "reading": w.method,
        **settings,
        **m.provenance(),
        "config_hash": content_hash([settings, p.seed, p.mask_mode]),
        **({"lanczos_seed": options["seed"]} if method == "if" else {}),
        "seconds": seconds,
        "device": str(device),
        **peak_memory(device),
        **info,
    },
)
