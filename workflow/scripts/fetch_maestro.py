"""Adapter: download MAESTRO v2.0.0's MIDI archive, check its SHA-256 and unpack it (its MIDI
folders and maestro-v2.0.0.csv) into resources/maestro/; needs internet."""

import shutil
import tempfile
import zipfile
from pathlib import Path

from tdacore.data.raw import fetch
from tdacore.infra.steplog import start_log

log = start_log(snakemake.log[0])
target = Path(snakemake.output[0])
with tempfile.TemporaryDirectory(dir=target.parent.parent) as tmp:
    archive = Path(tmp) / "maestro-v2.0.0-midi.zip"
    log.info("fetching %s", snakemake.params.download["url"])
    fetch(snakemake.params.download["url"], archive, snakemake.params.download["checksum"])
    log.info("%s verified; unpacking", snakemake.params.download["checksum"])
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(tmp)
    shutil.move(Path(tmp) / target.name, target)  # complete folders only: a killed job leaves none
log.info("MAESTRO v2.0.0 in %s", target)
