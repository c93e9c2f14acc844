"""Adapter: the Bach chorales of music21's bundled corpus as MIDI files (offline), with music21's
parse cache kept inside the working directory (tdacore.data.music_corpus.export_chorales)."""

import os
import tempfile
from pathlib import Path

from tdacore.data.music_corpus import export_chorales  # imports music21 only when called
from tdacore.infra.steplog import start_log

log = start_log(snakemake.log[0])
cache = Path(snakemake.params.cache).resolve()
cache.mkdir(parents=True, exist_ok=True)
os.environ["TMPDIR"] = str(cache)  # music21 caches parsed scores under $TMPDIR/music21 (read when it is imported)
tempfile.tempdir = None  # re-read TMPDIR

paths = export_chorales(snakemake.output[0], limit=snakemake.params.limit)
log.info("%d chorales exported to %s (music21 cache: %s)", len(paths), snakemake.output[0], cache)
