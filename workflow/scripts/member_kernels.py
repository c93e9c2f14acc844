"""Adapter: one member's TRAK kernels phi (Phi^T Phi + lambda I)^{-1} Phi^T from its features,
one file per ridge that some TRAK reading uses (tdacore.attribution.ridge), each with the member's Q; every
grid point and reading with this member and ridge averages the same file."""

from tdacore.attribution.ridge import Ridge, kernels, ridge_provenance
from tdacore.infra.steplog import start_log
from tdacore.infra.store import read_h5, write_h5

log = start_log(snakemake.log[0])
arrays, attrs = read_h5(snakemake.input.features, ["phi_train", "phi_test", "q_train"])
ridges = [Ridge(**ridge) for ridge in snakemake.params.ridges]
for path, made in zip(snakemake.output, kernels(arrays["phi_train"], arrays["phi_test"], ridges)):
    log.info(
        "%s: lambda = %.6g (mean eigenvalue of Phi^T Phi %.6g), %.2f s",
        made.ridge.setting,
        made.value,
        made.mean_eigenvalue,
        made.seconds,
    )
    write_h5(
        path,
        {"kernel": made.kernel.astype("float32"), "q_train": arrays["q_train"]},
        {
            **attrs,
            "features_file": str(snakemake.input.features),
            **ridge_provenance(made, attrs["seconds"], attrs["config_hash"]),
        },
    )
