"""Adapter: download MAESTRO v2.0.0's MIDI archive, check its SHA-256 and unpack it (its MIDI
folders and maestro-v2.0.0.csv) into resources/maestro/; needs internet."""

import shutil
import tempfile
import zipfile
from pathlib import Path

from tdacore.idx import fetch
from tdacore.steplog import start_log

log = start_log(snakemake.log[0])
target = Path(snakemake.output[0])
with tempfile.TemporaryDirectory(dir=target.parent.parent) as tmp:
    archive = Path(tmp) / "maestro-v2.0.0-midi.zip"
    log.info("fetching %s", snakemake.params.url)
    fetch(snakemake.params.url, archive, snakemake.params.sha256, "sha256")
    log.info("SHA-256 %s verified; unpacking", snakemake.params.sha256)
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(tmp)
    shutil.move(Path(tmp) / target.name, target)  # complete folders only: a killed job leaves none
log.info("MAESTRO v2.0.0 in %s", target)
