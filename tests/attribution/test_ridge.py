"""TRAK's kernel with a ridge (tdacore.attribution.ridge) against inverses formed independently, and the
relative ridge's scaling with each member's mean eigenvalue of Phi^T Phi."""

import numpy as np
import pytest

from tdacore.attribution.ridge import Ridge, kernel, kernels, value_name


def _features(seed: int, n_train: int = 40, n_test: int = 6, k: int = 8, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    # columns of very different scale: an ill-conditioned Phi^T Phi, as at the paper's k
    columns = np.logspace(0, -2, k)
    return scale * rng.normal(size=(n_train, k)) * columns, scale * rng.normal(size=(n_test, k)) * columns


def _by_eigendecomposition(phi_train: np.ndarray, phi_test: np.ndarray, lam: float) -> np.ndarray:
    """phi (Phi^T Phi + lam I)^{-1} Phi^T through Phi's SVD, independent of any Cholesky solve."""
    _, s, vt = np.linalg.svd(phi_train, full_matrices=False)
    return phi_test @ vt.T @ np.diag(1.0 / (s**2 + lam)) @ vt @ phi_train.T


def test_without_a_ridge_the_kernel_is_eq2_as_written():
    phi_train, phi_test = _features(0)
    (made,) = kernels(phi_train, phi_test, [Ridge()])
    expected = phi_test @ np.linalg.inv(phi_train.T @ phi_train) @ phi_train.T
    np.testing.assert_allclose(made.kernel, expected, rtol=1e-8, atol=1e-10 * np.abs(expected).max())
    np.testing.assert_allclose(
        made.kernel, _by_eigendecomposition(phi_train, phi_test, 0.0), rtol=1e-7, atol=1e-9 * np.abs(expected).max()
    )
    assert made.value == 0.0 and made.ridge.tag == "ridge0"
    np.testing.assert_array_equal(kernel(phi_train, phi_test, 0.0), made.kernel)


@pytest.mark.parametrize("lam", [1e-3, 0.5, 40.0])
def test_an_absolute_ridge_enters_the_inverse(lam: float):
    phi_train, phi_test = _features(1)
    (made,) = kernels(phi_train, phi_test, [Ridge(absolute=lam)])
    np.testing.assert_allclose(made.kernel, _by_eigendecomposition(phi_train, phi_test, lam), rtol=1e-8, atol=1e-12)
    assert made.value == lam


def test_a_relative_ridge_is_a_multiple_of_the_mean_eigenvalue():
    phi_train, phi_test = _features(2)
    mean_eigenvalue = np.linalg.eigvalsh(phi_train.T @ phi_train).mean()
    relative, absolute = kernels(phi_train, phi_test, [Ridge(relative=0.3), Ridge(absolute=0.3 * mean_eigenvalue)])
    assert relative.mean_eigenvalue == pytest.approx(mean_eigenvalue, rel=1e-12)
    assert relative.value == pytest.approx(0.3 * mean_eigenvalue, rel=1e-12)
    np.testing.assert_allclose(relative.kernel, absolute.kernel, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(
        relative.kernel, _by_eigendecomposition(phi_train, phi_test, 0.3 * mean_eigenvalue), rtol=1e-8, atol=1e-12
    )


def test_a_relative_ridge_follows_the_gradient_scale_and_an_absolute_one_does_not():
    """Features scaled by c scale every eigenvalue by c^2: the relative lambda scales with them
    (the kernel, c^2 phi (c^2 G + c^2 lambda I)^{-1} Phi^T, is unchanged); an absolute lambda
    does not, so the same setting regularises a member of larger gradients less."""
    phi_train, phi_test = _features(3)
    ridges = [Ridge(relative=0.1), Ridge(absolute=0.05)]
    small = kernels(phi_train, phi_test, ridges)
    large = kernels(10 * phi_train, 10 * phi_test, ridges)
    assert large[0].value == pytest.approx(100 * small[0].value, rel=1e-12)
    np.testing.assert_allclose(large[0].kernel, small[0].kernel, rtol=1e-9, atol=1e-12)
    assert large[1].value == small[1].value
    assert not np.allclose(large[1].kernel, small[1].kernel, rtol=1e-3)


def test_several_ridges_in_one_call_equal_one_at_a_time():
    phi_train, phi_test = _features(4)
    ridges = [Ridge(), Ridge(relative=0.01), Ridge(relative=1.0), Ridge(absolute=2.0)]
    together = kernels(phi_train, phi_test, ridges)
    for ridge, made in zip(ridges, together):
        (alone,) = kernels(phi_train, phi_test, [ridge])
        assert made.ridge == ridge and made.value == alone.value
        np.testing.assert_array_equal(made.kernel, alone.kernel)
    assert [m.ridge.tag for m in together] == ["ridge0", "ridge_rel0p01", "ridge_rel1", "ridge2"]
    assert [m.ridge.setting for m in together] == ["ridge=0", "ridge_relative=0.01", "ridge_relative=1", "ridge=2"]


def test_a_singular_gram_asks_for_a_ridge_and_a_ridge_makes_it_invertible():
    phi_train = np.ones((10, 3))
    with pytest.raises(np.linalg.LinAlgError, match="trak.ridge_relative"):
        kernels(phi_train, phi_train[:2], [Ridge()])
    (made,) = kernels(phi_train, phi_train[:2], [Ridge(relative=0.1)])
    np.testing.assert_allclose(made.kernel, _by_eigendecomposition(phi_train, phi_train[:2], made.value), rtol=1e-8)


def test_a_ridge_is_absolute_or_relative_not_both():
    with pytest.raises(ValueError, match="give one of them"):
        Ridge(absolute=0.1, relative=0.1)
    with pytest.raises(ValueError, match="give one of them"):
        Ridge(relative=-1.0)
    assert Ridge() == Ridge(relative=0.0) and Ridge().setting == "ridge=0"
    assert [value_name(v) for v in (0, 0.01, 1e-05, 2.5)] == ["0", "0p01", "1em05", "2p5"]
