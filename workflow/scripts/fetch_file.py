"""Adapter: download one missing raw file and keep it only if its checksum is the official one
(tdacore.data.raw.fetch); needs internet."""

from tdacore.data.raw import fetch
from tdacore.infra.steplog import start_log

log = start_log(snakemake.log[0])
download = snakemake.params.download
log.info("fetching %s", download["url"])
fetch(download["url"], snakemake.output[0], download["checksum"])
log.info("%s verified", download["checksum"])
