"""Atomic writes and provenance checks of the HDF5 store."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from tdacore import __version__
from tdacore.infra.precision import stored_dtype
from tdacore.infra.store import (
    ProvenanceError,
    array_names,
    create_narrowed,
    h5_writer,
    read_h5,
    read_rows,
    require_agreement,
    require_distinct,
    set_attrs,
    write_h5,
    write_rows,
)


def test_round_trip_with_provenance(tmp_path: Path):
    path = tmp_path / "f.h5"
    write_h5(path, {"a": np.arange(3)}, {"proj_dim": 8, "members": [[0, 1], [1, 2]]})
    arrays, attrs = read_h5(path)
    np.testing.assert_array_equal(arrays["a"], np.arange(3))
    assert attrs["proj_dim"] == 8 and attrs["members"] == [[0, 1], [1, 2]]
    assert attrs["tdacore_version"] == __version__
    assert attrs["made_on"] and attrs["slurm_job_id"] == ""  # written outside SLURM


def test_job_stamp_names_the_slurm_job(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "4711")
    write_h5(tmp_path / "f.h5", {"a": np.zeros(1)}, {})
    assert read_h5(tmp_path / "f.h5")[1]["slurm_job_id"] == "4711"


def test_failed_write_leaves_no_file(tmp_path: Path):
    path = tmp_path / "f.h5"

    class Boom:
        def __array__(self, *args, **kwargs):
            raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError, match="killed"):
        write_h5(path, {"a": np.zeros(5), "b": Boom()}, {})
    assert list(tmp_path.iterdir()) == []


def test_disagreeing_files_are_named():
    attrs = {"x.h5": {"proj_dim": 8, "train_hash": "a"}, "y.h5": {"proj_dim": 16, "train_hash": "a"}}
    require_agreement(attrs, ["train_hash"])
    with pytest.raises(ProvenanceError, match=r"'proj_dim'.*8 in x\.h5.*16 in y\.h5"):
        require_agreement(attrs, ["train_hash", "proj_dim"])
    with pytest.raises(ProvenanceError, match="records no 'seed'"):
        require_agreement(attrs, ["seed"])
    with pytest.raises(ProvenanceError, match=r"'train_hash'.*x\.h5 and y\.h5"):
        require_distinct(attrs, "train_hash")


def test_missing_file_is_named(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        read_h5(tmp_path / "nope.h5")


def test_a_step_terminated_mid_write_leaves_no_file(tmp_path: Path):
    """scancel / a time limit send SIGTERM: the step's log setup turns it into SystemExit, so the
    atomic write removes its half-written .part file on the way out."""
    target = tmp_path / "f.h5"
    step = f"""
import time
from tdacore.infra.steplog import start_log
from tdacore.infra.store import atomic_path
start_log(None)
with atomic_path({str(target)!r}) as tmp:
    tmp.write_bytes(b"half")
    print("writing", flush=True)
    time.sleep(60)
"""
    process = subprocess.Popen(
        [sys.executable, "-c", step], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout.readline() == "writing\n"
    assert [path.suffix for path in tmp_path.iterdir()] == [".part"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    assert not list(tmp_path.iterdir())


def test_named_inputs_are_a_group_and_hash_with_their_names(tmp_path: Path):
    from tdacore.data.dataset import Dataset, read_dataset, write_dataset
    from tdacore.infra.store import array_hash

    ids, mask = np.arange(12).reshape(3, 4), np.ones((3, 4), np.int64)
    y = np.full((3, 4), -1)
    data = Dataset(
        {"input_ids": ids, "attention_mask": mask},
        y,
        {"input_ids": ids[:1], "attention_mask": mask[:1]},
        y[:1],
        12,
        "sequence",
    )
    write_dataset(tmp_path / "d.h5", data, {"source": "test"})
    back, attrs = read_dataset(tmp_path / "d.h5")
    assert set(back.x_train) == {"input_ids", "attention_mask"} and attrs["train_hash"] == data.train_hash()
    np.testing.assert_array_equal(back.x_test["input_ids"], ids[:1])
    arrays, _ = read_h5(tmp_path / "d.h5", ["x_train"])
    np.testing.assert_array_equal(arrays["x_train"]["attention_mask"], mask)
    # the mask and the names are part of the data set's identity; one array and one named array differ
    masked = {"input_ids": ids, "attention_mask": np.tril(mask)}
    assert array_hash(masked, y) != data.train_hash()
    assert array_hash({"ids": ids, "attention_mask": mask}, y) != data.train_hash()
    assert array_hash({"input_ids": ids, "attention_mask": mask}, y) == data.train_hash()
    assert array_hash(ids, y) != array_hash({"x": ids}, y)


@pytest.mark.parametrize(
    ("dtype", "stored", "tolerance"), [("float16", "float16", 2**-11), ("bfloat16", "uint16", 2**-8)]
)
def test_narrowed_arrays_round_trip_and_say_their_dtype(tmp_path: Path, dtype: str, stored: str, tolerance: float):
    values = np.random.default_rng(0).standard_normal((40, 6)).astype(np.float32)
    path = tmp_path / "f.h5"
    write_h5(path, {"phi_train": values, "q_train": values[:, 0]}, {"seconds": 1.0}, {"phi_train": dtype})
    arrays, attrs = read_h5(path)
    assert arrays["phi_train"].dtype == np.float32 and arrays["q_train"].dtype == np.float32
    np.testing.assert_allclose(arrays["phi_train"], values, rtol=tolerance, atol=0)
    np.testing.assert_array_equal(arrays["q_train"], values[:, 0])  # not narrowed
    assert (attrs["phi_train_dtype"], "q_train_dtype" in attrs, stored_dtype(attrs, "phi_train")) == (
        dtype,
        False,
        dtype,
    )
    with h5py.File(path) as handle:  # on disk: half the bytes
        assert handle["phi_train"].dtype == np.dtype(stored) and handle["phi_train"].attrs["storage_dtype"] == dtype
    np.testing.assert_array_equal(read_rows(path, "phi_train", slice(3, 7)), arrays["phi_train"][3:7])
    assert array_names(path) == ["phi_train", "q_train"]
    with pytest.raises(KeyError, match="storage dtypes for arrays it does not hold: \\['scores'\\]"):
        write_h5(tmp_path / "g.h5", {"phi_train": values}, {}, {"scores": dtype})


def test_a_file_written_block_by_block_appears_only_once_complete(tmp_path: Path):
    path = tmp_path / "blocks.h5"
    with pytest.raises(RuntimeError, match="killed"), h5_writer(path) as handle:
        scores = create_narrowed(handle, "scores", (4, 3), "float16")
        write_rows(scores, slice(0, 2), np.ones((2, 3)))
        raise RuntimeError("killed between blocks")
    assert list(tmp_path.iterdir()) == []
    with h5_writer(path) as handle:
        scores = create_narrowed(handle, "scores", (4, 3), "bfloat16")
        for rows in (slice(0, 2), slice(2, 4)):
            write_rows(scores, rows, np.full((2, 3), rows.start + 0.5))
        set_attrs(handle, {"part": "s0"})
    arrays, attrs = read_h5(path)
    np.testing.assert_array_equal(arrays["scores"], [[0.5] * 3] * 2 + [[2.5] * 3] * 2)
    assert (attrs["part"], attrs["scores_dtype"]) == ("s0", "bfloat16")
