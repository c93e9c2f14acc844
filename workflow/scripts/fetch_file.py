"""Adapter: download one missing raw file and keep it only if its checksum is the official one
(tdacore.raw_data.fetch); needs internet."""

from tdacore.raw_data import fetch
from tdacore.steplog import start_log

log = start_log(snakemake.log[0])
download = snakemake.params.download
log.info("fetching %s", download["url"])
fetch(download["url"], snakemake.output[0], download["checksum"])
log.info("%s verified", download["checksum"])
