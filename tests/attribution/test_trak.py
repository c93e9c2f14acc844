"""TRAK (Eq. 2) and its forward-only Dropout Ensemble (Section 3.3) against closed forms computed
with numpy."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
import torch
from torch import nn

import tdacore.attribution.grads
import tdacore.attribution.trak
from tdacore.attribution.projection.dense import GaussianProjector, IdentityProjector
from tdacore.attribution.ridge import kernel
from tdacore.attribution.trak import featurize, featurize_shared, forward_q
from tdacore.ensembles.combine import trak_scores
from tdacore.models.build import build_model, n_parameters
from tdacore.models.dropout import masked, sample_masks

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
    scores = trak_scores([kernel(feats.phi_train, feats.phi_test, RIDGE)], [feats.q_train])
    k, q = _closed_form(model, data)
    np.testing.assert_allclose(scores, k * q[None, :], rtol=1e-5, atol=1e-7)  # features are stored in float32


def test_two_model_ensemble_is_eq2():
    """Eq. 2: mean of kernels times mean of Q, not the mean of per-model scores."""
    data = _data(1)
    models = [_linear(1), _linear(2)]
    n_params = DIM * CLASSES + CLASSES
    feats = [_features(m, data, IdentityProjector(n_params)) for m in models]
    scores = trak_scores([kernel(f.phi_train, f.phi_test, RIDGE) for f in feats], [f.q_train for f in feats])
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


def test_forward_only_with_the_unmasked_pass_as_its_q_is_plain_trak():
    """Section 3.3 with D = 1 and the unmasked pass standing in for the masked one: the kernel of
    the model times Q from forward passes alone is plain TRAK, here against the closed form."""
    data, model = _data(4), _linear(4)
    feats = _features(model, data, IdentityProjector(DIM * CLASSES + CLASSES))
    q_forward = forward_q(model, torch.as_tensor(data[0]), torch.as_tensor(data[1]), chunk_size=16)
    forward_only = trak_scores([kernel(feats.phi_train, feats.phi_test, RIDGE)], [q_forward])
    k, q = _closed_form(model, data)
    np.testing.assert_allclose(q_forward, q, rtol=1e-6)
    np.testing.assert_allclose(forward_only, k * q[None, :], rtol=1e-5, atol=1e-7)


def _numpy_q_under_masks(model, x: np.ndarray, y: np.ndarray, masks: dict) -> np.ndarray:
    """1 - p_y of the MLP Linear-ReLU-Dropout-Linear-ReLU-Dropout-Linear, by hand in numpy,
    each dropout site multiplied by its mask (independent of tdacore's hooks and outputs)."""
    state = {k: v.double().numpy() for k, v in model.state_dict().items()}
    h = x
    for layer, site in ((0, "net.2"), (3, "net.5")):
        h = (
            np.maximum(h @ state[f"net.{layer}.weight"].T + state[f"net.{layer}.bias"], 0.0)
            * masks[site].double().numpy()
        )
    z = h @ state["net.6.weight"].T + state["net.6.bias"]
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return 1.0 - p[np.arange(len(y)), y]


def test_forward_only_ensemble_is_unmasked_kernels_times_mean_masked_q():
    """The formula after Eq. 2: (1/I sum_i K_i) * (1/(I D) sum_{i,d} Q_{i,d}), with Q of each
    masked pass computed by hand."""
    rng = np.random.default_rng(5)
    x_train, x_test = rng.normal(size=(30, 6)).astype(np.float32), rng.normal(size=(5, 6)).astype(np.float32)
    y_train, y_test = rng.integers(0, 3, 30), rng.integers(0, 3, 5)
    tensors = [torch.as_tensor(a) for a in (x_train, y_train, x_test, y_test)]
    models = [build_model({"name": "mlp", "hidden": [8, 5], "dropout": 0.3}, 6, 3, seed=s) for s in (1, 2)]
    projector = GaussianProjector(n_parameters(models[0]), 12, seed=3, device=torch.device("cpu"))
    kernels, qs, expected_q = [], [], []
    for model in models:
        f = featurize(model.eval(), *tensors, projector=projector, chunk_size=8)
        kernels.append(kernel(f.phi_train, f.phi_test, 1e-3))
        for d in (1, 2, 3):
            masks = sample_masks(model, tensors[0], seed=10 * d)
            with masked(model, masks) as variant:
                qs.append(forward_q(variant, tensors[0], tensors[1], chunk_size=8))
            expected_q.append(_numpy_q_under_masks(model, x_train.astype(np.float64), y_train, masks))
    np.testing.assert_allclose(np.array(qs), np.array(expected_q), rtol=1e-4, atol=1e-6)
    scores = trak_scores(kernels, qs)
    np.testing.assert_allclose(
        scores, (kernels[0] + kernels[1]) / 2 * np.mean(expected_q, axis=0)[None, :], rtol=1e-4, atol=1e-7
    )
    assert not np.allclose(
        np.mean(expected_q, axis=0),
        featurize(models[0].eval(), *tensors, projector=projector, chunk_size=8).q_train,
        atol=1e-3,
    )


@contextmanager
def _no_gradients_allowed(monkeypatch, model):
    """Every gradient entry point raises, and every module's forward asserts grad mode is off."""

    def refuse(*args, **kwargs):
        raise AssertionError("a gradient was computed")

    for target in (torch.autograd, torch.func, tdacore.attribution.grads):
        for name in ("grad", "vmap", "backward"):
            if hasattr(target, name):
                monkeypatch.setattr(target, name, refuse)
    monkeypatch.setattr(torch.Tensor, "backward", refuse)
    monkeypatch.setattr(tdacore.attribution.grads, "per_sample_grads", refuse)
    monkeypatch.setattr(tdacore.attribution.trak, "project_grads_each", refuse)

    def grad_mode_off(module, inputs, output):
        if torch.is_grad_enabled() or output.requires_grad:
            raise AssertionError(f"{type(module).__name__} ran with gradients enabled")

    handles = [m.register_forward_hook(grad_mode_off) for m in model.modules()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def test_forward_only_masked_pass_computes_no_gradient(monkeypatch):
    model = build_model({"name": "mlp", "hidden": [8, 5], "dropout": 0.3}, 6, 3, seed=1)
    x, y = torch.randn(20, 6, generator=torch.Generator().manual_seed(0)), torch.arange(20) % 3
    projector = GaussianProjector(n_parameters(model), 4, seed=0, device=torch.device("cpu"))
    with (
        monkeypatch.context() as patch,
        _no_gradients_allowed(patch, model),
        masked(model, sample_masks(model, x, seed=1)) as variant,
    ):
        q = forward_q(variant, x, y, chunk_size=7)
        # The same instrumentation catches a full pass, which does take gradients.
        with pytest.raises(AssertionError, match="gradient"):
            featurize(variant, x, y, x, y, projector, chunk_size=7)
    assert q.shape == (20,) and np.all((q > 0) & (q < 1))


def test_shared_gradients_under_several_projections_equal_separate_featurizations():
    """Appendix E's shared gradients: computed once and projected k ways, they give each
    projection's features exactly; the time is split into each projection's own and the shared."""
    data, model = _data(6), _linear(6)
    n_params = DIM * CLASSES + CLASSES
    projectors = [GaussianProjector(n_params, 5, seed=s, device=torch.device("cpu"), block_rows=7) for s in (1, 2, 3)]
    shared, shared_seconds = featurize_shared(
        model, *(torch.as_tensor(a) for a in data), projectors=projectors, chunk_size=16
    )
    for projector, features in zip(projectors, shared):
        alone = _features(model, data, projector)
        np.testing.assert_allclose(features.phi_train, alone.phi_train, rtol=1e-12)
        np.testing.assert_allclose(features.phi_test, alone.phi_test, rtol=1e-12)
        np.testing.assert_array_equal(features.q_train, alone.q_train)
        assert 0 < features.seconds < alone.seconds
    assert shared_seconds > 0 and not np.allclose(shared[0].phi_train, shared[1].phi_train)
