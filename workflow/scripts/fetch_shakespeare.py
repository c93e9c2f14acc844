"""Adapter: download tiny-shakespeare's input.txt (Appendix J) and check its SHA-256
(tdacore.idx.fetch); needs internet."""

from tdacore.idx import fetch
from tdacore.steplog import start_log

log = start_log(snakemake.log[0])
log.info("fetching %s", snakemake.params.url)
fetch(snakemake.params.url, snakemake.output[0], snakemake.params.sha256, "sha256")
log.info("SHA-256 %s verified", snakemake.params.sha256)
