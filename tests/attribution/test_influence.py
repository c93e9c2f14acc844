"""IF with conjugate gradients, Grad-Dot and Grad-Cos against explicit Hessians, brute-force
leave-one-out retraining and closed forms, on a softmax regression small enough to invert."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch import nn

from tdacore.attribution.cg import NotPositiveDefiniteError, conjugate_gradient
from tdacore.attribution.grads import per_sample_grads
from tdacore.attribution.hessian import damped_hvp, flatten_params, smallest_eigenvalue
from tdacore.attribution.methods import grad_cos, grad_dot, influence, score_matrix
from tdacore.models.outputs import log_likelihood, margin
from tdacore.models.outputs import mean_cross_entropy as mean_ce

N_TRAIN, N_TEST, DIM, CLASSES, L2 = 60, 4, 4, 3, 1e-2


def _data():
    g = torch.Generator().manual_seed(0)
    centres = 1.5 * torch.randn(CLASSES, DIM, generator=g, dtype=torch.float64)
    y = torch.arange(N_TRAIN + N_TEST) % CLASSES
    x = centres[y] + torch.randn(len(y), DIM, generator=g, dtype=torch.float64)
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def _fit(x, y, init: nn.Linear | None = None) -> nn.Linear:
    """Minimise mean CE + L2/2 |theta|^2 to convergence (convex: a unique optimum)."""
    model = nn.Linear(DIM, CLASSES).double()
    if init is not None:
        model.load_state_dict(init.state_dict())
    optimizer = torch.optim.LBFGS(
        model.parameters(),
        lr=1,
        max_iter=500,
        tolerance_grad=1e-12,
        tolerance_change=1e-14,
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimizer.zero_grad()
        loss = mean_ce(model(x), y) + L2 / 2 * sum((p**2).sum() for p in model.parameters())
        loss.backward()
        return loss

    optimizer.step(closure)
    return model.eval()


def _grads(model, x, y, output_fn):
    return torch.cat([torch.cat(blocks, 1) for _, blocks in per_sample_grads(model, x, y, output_fn, chunk_size=16)])


@pytest.fixture(scope="module")
def fitted():
    x_train, y_train, x_test, y_test = _data()
    return _fit(x_train, y_train), x_train, y_train, x_test, y_test


def _if_scores(model, x_train, y_train, x_test, y_test, rtol=1e-10):
    hvp = damped_hvp(model, x_train, y_train, mean_ce, damping=L2, chunk_size=25)
    return influence(
        _grads(model, x_test, y_test, margin),
        _grads(model, x_train, y_train, log_likelihood),
        lambda b: conjugate_gradient(hvp, b, rtol=rtol, max_iter=200),
    )


def test_cg_if_equals_explicit_inverse(fitted):
    model, x_train, y_train, x_test, y_test = fitted
    scores, result = _if_scores(model, x_train, y_train, x_test, y_test)
    assert result.converged and result.relative_residual.max() <= 1e-10
    theta, unflatten = flatten_params(model)
    hessian = torch.func.hessian(
        lambda flat: mean_ce(torch.func.functional_call(model, unflatten(flat), (x_train,)), y_train)
    )(theta)
    explicit = np.linalg.inv(hessian.numpy() + L2 * np.eye(len(theta)))
    expected = (
        _grads(model, x_test, y_test, margin).numpy()
        @ explicit
        @ _grads(model, x_train, y_train, log_likelihood).numpy().T
    )
    np.testing.assert_allclose(scores.numpy(), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_cg_if_ranks_like_leave_one_out(fitted):
    model, x_train, y_train, x_test, y_test = fitted
    scores, _ = _if_scores(model, x_train, y_train, x_test, y_test)
    base = margin(model(x_test), y_test).detach()
    effect = torch.empty(N_TEST, N_TRAIN, dtype=torch.float64)
    keep = torch.ones(N_TRAIN, dtype=torch.bool)
    for j in range(N_TRAIN):
        keep[j] = False
        retrained = _fit(x_train[keep], y_train[keep], init=model)
        effect[:, j] = base - margin(retrained(x_test), y_test).detach()  # what including x_j adds
        keep[j] = True
    for t in range(N_TEST):
        assert spearmanr(scores[t].numpy(), effect[t].numpy()).statistic > 0.9


def test_score_matrix_streams_the_same_scores(fitted):
    """The chunked, workflow-facing entry point agrees with the direct formulas."""
    model, x_train, y_train, x_test, y_test = fitted
    g_test, g_train = _grads(model, x_test, y_test, margin), _grads(model, x_train, y_train, margin)
    dot, _ = score_matrix("graddot", model, x_train, y_train, x_test, y_test, chunk_size=7)
    cos, _ = score_matrix("gradcos", model, x_train, y_train, x_test, y_test, chunk_size=7)
    np.testing.assert_allclose(dot, grad_dot(g_test, g_train).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cos, grad_cos(g_test, g_train).numpy(), rtol=1e-5, atol=1e-6)
    scores, info = score_matrix(
        "if", model, x_train, y_train, x_test, y_test, chunk_size=7, damping=L2, rtol=1e-8, max_iter=200
    )
    expected, _ = _if_scores(model, x_train, y_train, x_test, y_test)
    np.testing.assert_allclose(scores, expected.numpy(), rtol=1e-4, atol=1e-4 * np.abs(expected.numpy()).max())
    assert info["cg_converged"] and max(info["cg_relative_residual"]) <= 1e-8


def test_cg_stops_at_tolerance_and_reports_residual():
    g = torch.Generator().manual_seed(1)
    q, _ = torch.linalg.qr(torch.randn(40, 40, generator=g, dtype=torch.float64))
    a = q @ torch.diag(torch.linspace(1, 100, 40, dtype=torch.float64)) @ q.T
    b = torch.randn(40, 3, generator=g, dtype=torch.float64)
    loose = conjugate_gradient(lambda v: a @ v, b, rtol=1e-3, max_iter=1000)
    tight = conjugate_gradient(lambda v: a @ v, b, rtol=1e-12, max_iter=1000)
    true = (b - a @ loose.solution).norm(dim=0) / b.norm(dim=0)
    torch.testing.assert_close(loose.relative_residual, true)
    assert loose.converged and (true <= 1e-3).all() and loose.iterations < tight.iterations
    torch.testing.assert_close(tight.solution, torch.linalg.solve(a, b), rtol=1e-9, atol=1e-10)
    capped = conjugate_gradient(lambda v: a @ v, b, rtol=1e-12, max_iter=3)
    assert capped.iterations == 3 and not capped.converged and (capped.relative_residual > 1e-12).all()


def test_indefinite_system_is_named():
    a = torch.diag(torch.tensor([3.0, 1.0, -2.0], dtype=torch.float64))
    b = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    with pytest.raises(NotPositiveDefiniteError, match=r"not positive definite.*damping"):
        conjugate_gradient(lambda v: a @ v, b, rtol=1e-8, max_iter=50)


def test_grad_cos_is_grad_dot_of_unit_gradients_and_symmetry():
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(5, 9, generator=g), torch.randn(7, 9, generator=g)
    unit = lambda m: m / m.norm(dim=1, keepdim=True)  # noqa: E731
    torch.testing.assert_close(grad_cos(a, b), grad_dot(unit(a), unit(b)))
    torch.testing.assert_close(grad_dot(a, b), grad_dot(b, a).T)
    torch.testing.assert_close(grad_cos(a, b), grad_cos(b, a).T)
    torch.testing.assert_close(torch.diagonal(grad_cos(a, a)), torch.ones(5))
    torch.testing.assert_close(grad_dot(a, b)[2, 3], (a[2] * b[3]).sum())
    a[1] = 0.0  # a zero gradient scores 0, not NaN
    assert (grad_cos(a, b)[1] == 0).all()


def _untrained_mlp():
    """A small float64 MLP at its random initialisation: its loss Hessian is indefinite."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(DIM, 5), nn.Tanh(), nn.Linear(5, CLASSES)).double().eval()
    x_train, y_train, x_test, y_test = _data()
    theta, unflatten = flatten_params(model)
    hessian = torch.func.hessian(
        lambda flat: mean_ce(torch.func.functional_call(model, unflatten(flat), (x_train,)), y_train)
    )(theta)
    return model, x_train, y_train, x_test, y_test, hessian.numpy()


def test_smallest_eigenvalue_matches_the_explicit_hessian():
    model, x_train, y_train, _, _, hessian = _untrained_mlp()
    lowest = np.linalg.eigvalsh(hessian)[0]
    assert lowest < -1e-3  # indefinite, or the test proves nothing
    hvp = damped_hvp(model, x_train, y_train, mean_ce, damping=0.0, chunk_size=17)
    estimate = smallest_eigenvalue(hvp, flatten_params(model)[0], seed=0, rtol=1e-8)
    assert estimate == pytest.approx(lowest, rel=1e-6)


def test_if_with_curvature_shift_solves_the_shifted_system():
    """Without the shift CG meets negative curvature; with it, IF equals the explicit inverse of
    H + (damping - lambda_min) I."""
    model, x_train, y_train, x_test, y_test, hessian = _untrained_mlp()
    damping = 1e-3
    with pytest.raises(NotPositiveDefiniteError):
        score_matrix(
            "if", model, x_train, y_train, x_test, y_test, chunk_size=17, damping=damping, rtol=1e-10, max_iter=500
        )
    scores, info = score_matrix(
        "if",
        model,
        x_train,
        y_train,
        x_test,
        y_test,
        chunk_size=17,
        damping=damping,
        shift_negative_curvature=True,
        rtol=1e-10,
        max_iter=500,
    )
    lowest = np.linalg.eigvalsh(hessian)[0]
    assert info["hessian_min_eigenvalue"] == pytest.approx(lowest, rel=1e-3)
    total = damping - info["hessian_min_eigenvalue"]
    assert info["damping_total"] == pytest.approx(total)
    explicit = np.linalg.inv(hessian + total * np.eye(len(hessian)))
    expected = (
        _grads(model, x_test, y_test, margin).numpy()
        @ explicit
        @ _grads(model, x_train, y_train, log_likelihood).numpy().T
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
