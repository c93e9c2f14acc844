"""TRAK (Eq. 2) on a linear softmax classifier against a closed form computed with numpy."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tdacore.projection import GaussianProjector, IdentityProjector
from tdacore.trak import ensemble_scores, featurize, kernel

N_TRAIN, N_TEST, DIM, CLASSES = 40, 7, 4, 3
# Margin gradients of a softmax classifier are orthogonal to a per-class shift, so the exact
# Gram matrix is singular: the closed-form tests use a ridge term on both sides.
RIDGE = 1e-2


def _data(seed: int):
    rng = np.random.default_rng(seed)
    x_train, x_test = rng.normal(size=(N_TRAIN, DIM)), rng.normal(size=(N_TEST, DIM))
    y_train, y_test = rng.integers(0, CLASSES, N_TRAIN), rng.integers(0, CLASSES, N_TEST)
    return x_train, y_train, x_test, y_test


def _linear(seed: int) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(DIM, CLASSES).double()


def _numpy_margin_grads(weight: np.ndarray, bias: np.ndarray, x: np.ndarray, y: np.ndarray):
    """Closed form: d margin / d z_c = 1 for c = y, -softmax_{c' != y}(z)_c otherwise;
    d/dW = (d/dz) x^T, d/db = d/dz; rows ordered as torch's [weight (row-major), bias]."""
    z = x @ weight.T + bias
    grads, q = [], []
    for zi, xi, yi in zip(z, x, y):
        others = np.delete(np.arange(CLASSES), yi)
        e = np.exp(zi[others] - zi[others].max())
        dz = np.zeros(CLASSES)
        dz[yi] = 1.0
        dz[others] = -e / e.sum()
        grads.append(np.concatenate([np.outer(dz, xi).ravel(), dz]))
        p = np.exp(zi - zi.max()) / np.exp(zi - zi.max()).sum()
        q.append(1.0 - p[yi])
    return np.array(grads), np.array(q)


def _features(model, data, projector):
    tensors = [torch.as_tensor(a) for a in data]
    return featurize(model, *tensors, projector=projector, chunk_size=16)


def _closed_form(model, data, projection=None, ridge=RIDGE):
    x_train, y_train, x_test, y_test = data
    w, b = model.weight.detach().numpy(), model.bias.detach().numpy()
    g_train, q = _numpy_margin_grads(w, b, x_train, y_train)
    g_test, _ = _numpy_margin_grads(w, b, x_test, y_test)
    if projection is not None:
        g_train, g_test = g_train @ projection, g_test @ projection
    k = g_test @ np.linalg.inv(g_train.T @ g_train + ridge * np.eye(g_train.shape[1])) @ g_train.T
    return k, q


def test_single_model_matches_closed_form():
    data, model = _data(0), _linear(0)
    n_params = DIM * CLASSES + CLASSES
    feats = _features(model, data, IdentityProjector(n_params))
    scores = ensemble_scores([kernel(feats.phi_train, feats.phi_test, RIDGE)], [feats.q_train])
    k, q = _closed_form(model, data)
    np.testing.assert_allclose(scores, k * q[None, :], rtol=1e-5, atol=1e-7)  # features are stored in float32


def test_two_model_ensemble_is_eq2():
    """Eq. 2: mean of kernels times mean of Q, not the mean of per-model scores."""
    data = _data(1)
    models = [_linear(1), _linear(2)]
    n_params = DIM * CLASSES + CLASSES
    feats = [_features(m, data, IdentityProjector(n_params)) for m in models]
    scores = ensemble_scores([kernel(f.phi_train, f.phi_test, RIDGE) for f in feats], [f.q_train for f in feats])
    forms = [_closed_form(m, data) for m in models]
    expected = (forms[0][0] + forms[1][0]) / 2 * ((forms[0][1] + forms[1][1]) / 2)[None, :]
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-7)  # features are stored in float32
    per_model_mean = (forms[0][0] * forms[0][1] + forms[1][0] * forms[1][1]) / 2
    assert not np.allclose(scores, per_model_mean, rtol=1e-3)


def test_projected_features_match_dense_projection():
    """Block-wise projection (blocks cut across parameter boundaries) equals g @ P."""
    data, model = _data(2), _linear(3)
    n_params = DIM * CLASSES + CLASSES
    projector = GaussianProjector(n_params, 8, seed=5, device=torch.device("cpu"), block_rows=5)
    feats = _features(model, data, projector)
    dense = projector.matrix().double().numpy()
    assert dense.shape == (n_params, 8)
    k, q = _closed_form(model, data, projection=dense, ridge=0.0)
    np.testing.assert_allclose(kernel(feats.phi_train, feats.phi_test, 0.0), k, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(feats.q_train, q, rtol=1e-6)


def test_ridge_enters_the_inverse():
    rng = np.random.default_rng(3)
    phi_train, phi_test = rng.normal(size=(30, 5)), rng.normal(size=(4, 5))
    expected = phi_test @ np.linalg.inv(phi_train.T @ phi_train + 2.5 * np.eye(5)) @ phi_train.T
    np.testing.assert_allclose(kernel(phi_train, phi_test, 2.5), expected, rtol=1e-10)


def test_singular_gram_is_reported():
    phi_train = np.ones((10, 3))
    try:
        kernel(phi_train, phi_train[:2], 0.0)
    except np.linalg.LinAlgError as err:
        assert "trak.ridge" in str(err)
    else:
        raise AssertionError("a singular Phi^T Phi was inverted silently")
