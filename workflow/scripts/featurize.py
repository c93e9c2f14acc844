"""Adapter: TRAK features of model i under dropout pass d (d = 0: the unmasked model)."""

from tdacore.members import load_trained, member_provenance
from tdacore.projection import make_projector
from tdacore.runtime import configure, resolve_device
from tdacore.seeds import derive_seed
from tdacore.store import content_hash, write_h5
from tdacore.trak import featurize
from tdacore.variants import masked, pass_masks

log = configure(snakemake.threads, snakemake.log[0])
p = snakemake.params
i, d = int(snakemake.wildcards.i), int(snakemake.wildcards.d)
device = resolve_device(p.device)
m = load_trained(snakemake.input.data, snakemake.input.model, device, p.test_examples)

proj_seed = derive_seed(p.seed, "projection", i, d)
projector = make_projector(p.projection["kind"], m.meta["n_params"], p.projection["dim"], proj_seed, device)
with masked(m.model, pass_masks(m.model, m.x_train, p.seed, i, d)) as variant:
    features = featurize(variant, m.x_train, m.y_train, m.x_test, m.y_test, projector, p.chunk_size)
log.info("model %d pass %d: phi %s in %.1f s", i, d, features.phi_train.shape, features.seconds)
write_h5(
    snakemake.output[0],
    {"phi_train": features.phi_train, "phi_test": features.phi_test, "q_train": features.q_train},
    {
        **member_provenance(m, snakemake.input.model, p.seed, i, d),
        "proj_kind": projector.kind,
        "proj_dim": projector.dim,
        "proj_seed": proj_seed,
        "config_hash": content_hash([p.projection, p.seed]),
        "seconds": features.seconds,
        "device": str(device),
    },
)
