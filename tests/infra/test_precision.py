"""Half-precision storage: bfloat16 bits equal torch's conversion, round trips within each format's precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tdacore.infra.precision import decode, encode, stored_dtype


def test_bfloat16_bits_equal_torchs_rounding():
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.standard_normal(5000).astype(np.float32) * 10.0 ** rng.integers(-20, 20, 5000),
            [0.0, -0.0, np.inf, -np.inf],
        ]
    ).astype(np.float32)
    expected = torch.from_numpy(values).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    np.testing.assert_array_equal(encode(values, "bfloat16"), expected)
    assert np.isnan(decode(encode(np.array([np.nan], np.float32), "bfloat16"), "bfloat16")).all()


@pytest.mark.parametrize(("dtype", "relative"), [("float32", 0.0), ("float16", 2.0**-11), ("bfloat16", 2.0**-8)])
def test_round_trip_within_the_formats_precision(dtype: str, relative: float):
    values = np.random.default_rng(1).uniform(-60000, 60000, 10000).astype(np.float32)
    stored = encode(values, dtype)
    assert stored.dtype == {"float32": np.float32, "float16": np.float16, "bfloat16": np.uint16}[dtype]
    back = decode(stored, dtype)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, values, rtol=relative, atol=0)
    if relative:
        assert np.abs(back - values).max() > 0  # it really is narrower


def test_unknown_dtypes_and_wrong_storage_are_refused():
    with pytest.raises(ValueError, match="storage dtype 'int8' is not one of float32, float16, bfloat16"):
        encode(np.zeros(2), "int8")
    with pytest.raises(ValueError, match="stored as uint16 bit patterns, got float16"):
        decode(np.zeros(2, np.float16), "bfloat16")
    assert stored_dtype({"phi_train_dtype": "bfloat16"}, "phi_train") == "bfloat16"
    assert stored_dtype({}, "scores") == "float32"
