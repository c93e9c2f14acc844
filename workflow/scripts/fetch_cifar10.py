"""Adapter: download CIFAR-10's python version, check its MD5 (tdacore.data.raw.fetch) and unpack its
batches (cifar-10-batches-py) into data.cifar_dir; needs internet."""

import shutil
import tarfile
import tempfile
from pathlib import Path

from tdacore.data.raw import fetch
from tdacore.infra.steplog import start_log

log = start_log(snakemake.log[0])
target = Path(snakemake.output[0])
target.parent.mkdir(parents=True, exist_ok=True)
with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
    archive = Path(tmp) / "cifar-10-python.tar.gz"
    log.info("fetching %s", snakemake.params.download["url"])
    fetch(snakemake.params.download["url"], archive, snakemake.params.download["checksum"])
    log.info("%s verified; unpacking", snakemake.params.download["checksum"])
    with tarfile.open(archive) as bundle:
        bundle.extractall(tmp, filter="data")
    shutil.move(Path(tmp) / "cifar-10-batches-py", target)  # complete folders only: a killed job leaves none
log.info("CIFAR-10 batches in %s", target)
