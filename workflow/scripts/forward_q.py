"""Adapter: Q alone of one masked pass (model i, pass d), by forward passes only: the work of
one dropout-masked variant in TRAK's forward-only Dropout Ensemble (Section 3.3)."""

import time

from tdacore.attribution.trak import forward_q
from tdacore.ensembles.grid import parse_member
from tdacore.ensembles.members import load_trained
from tdacore.infra.runtime import configure, peak_memory, reset_peak_memory, resolve_device
from tdacore.infra.store import content_hash, write_h5

log = configure(snakemake.threads, snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
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
reset_peak_memory(device)
start = time.perf_counter()
with m.variant() as variant:
    q_train = forward_q(variant, m.x_train, m.y_train, p.chunk_size, m.outputs)
seconds = time.perf_counter() - start
log.info("member %s: Q of %d training examples in %.3f s (forward passes only)", m.member.stem, len(q_train), seconds)
write_h5(
    snakemake.output[0],
    {"q_train": q_train},
    {
        **m.provenance(),
        "config_hash": content_hash([p.seed]),
        "seconds": seconds,
        "device": str(device),
        **peak_memory(device),
    },
)
