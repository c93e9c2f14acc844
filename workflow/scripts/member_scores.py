"""Adapter: scores of one member (model i, dropout pass d) by IF, Grad-Dot or Grad-Cos."""

import time

from tdacore.members import load_trained, member_provenance
from tdacore.methods import score_matrix
from tdacore.runtime import configure, resolve_device
from tdacore.seeds import derive_seed
from tdacore.store import content_hash, write_h5
from tdacore.variants import masked, pass_masks

log = configure(snakemake.threads, snakemake.log[0])
p = snakemake.params
method, i, d = snakemake.wildcards.method, int(snakemake.wildcards.i), int(snakemake.wildcards.d)
m = load_trained(snakemake.input.data, snakemake.input.model, resolve_device(p.device), p.test_examples)
settings = p.influence if method == "if" else {}  # what all members of a grid point share
options = {**settings, "seed": derive_seed(p.seed, "lanczos", i, d)} if method == "if" else {}
start = time.perf_counter()
with masked(m.model, pass_masks(m.model, m.x_train, p.seed, i, d)) as variant:
    scores, info = score_matrix(method, variant, m.x_train, m.y_train, m.x_test, m.y_test, chunk_size=p.chunk_size, **options)
seconds = time.perf_counter() - start
if method == "if" and not info["cg_converged"]:
    log.warning(
        "CG did not reach rtol %g in %d iterations for %d of %d test examples (worst relative residual %.3g)",
        options["rtol"], info["cg_iterations"], sum(r > options["rtol"] for r in info["cg_relative_residual"]),
        len(info["cg_relative_residual"]), max(info["cg_relative_residual"]),
    )
log.info("%s model %d pass %d: scores %s in %.1f s %s", method, i, d, scores.shape, seconds, {k: v for k, v in info.items() if k != "cg_relative_residual"})
write_h5(
    snakemake.output[0],
    {"scores": scores},
    {
        "method": method,
        **member_provenance(m, snakemake.input.model, p.seed, i, d),
        "config_hash": content_hash([settings, p.seed]),
        **({"lanczos_seed": options["seed"]} if method == "if" else {}),
        "seconds": seconds,
        **info,
    },
)
