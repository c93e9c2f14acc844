"""Adapter: download one official MNIST IDX file and check its MD5 (tdacore.idx.fetch)."""

from tdacore.idx import MNIST_MIRROR, fetch
from tdacore.steplog import start_log

log = start_log(snakemake.log[0])
url = MNIST_MIRROR + snakemake.wildcards.name
log.info("fetching %s", url)
fetch(url, snakemake.output[0], snakemake.params.md5)
log.info("MD5 %s verified", snakemake.params.md5)
