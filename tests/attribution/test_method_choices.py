"""The readings of Figure 6's ambiguous choices against closed forms: Grad-Dot /
Grad-Cos with loss gradients, IF with the Gauss-Newton matrix, and IF's shift taken from the
unmasked model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from tdacore.attribution.cg import NotPositiveDefiniteError
from tdacore.attribution.grads import per_sample_grads
from tdacore.attribution.hessian import damped_gauss_newton_vp, flatten_params
from tdacore.attribution.methods import lowest_hessian_eigenvalue, score_matrix
from tdacore.models.dropout import fresh_masks, masked, sample_masks
from tdacore.models.outputs import CLASSIFICATION, log_likelihood, margin
from tdacore.models.outputs import mean_cross_entropy as mean_ce


def _mlp_and_data(seed: int = 0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Dropout(0.3), nn.Linear(6, 3)).double().eval()
    x = torch.randn(40, 4, dtype=torch.float64)
    y = torch.arange(40) % 3
    return model, x[:30], y[:30], x[30:], y[30:]


def test_loss_gradient_grad_dot_is_margin_grad_dot_times_one_minus_p_on_both_sides():
    model, x_train, y_train, x_test, y_test = _mlp_and_data()
    common = dict(chunk_size=7)
    by_margin, _ = score_matrix("graddot", model, x_train, y_train, x_test, y_test, **common)
    by_loss, _ = score_matrix("graddot", model, x_train, y_train, x_test, y_test, gradient="loss", **common)
    with torch.no_grad():
        q_test = torch.sigmoid(-margin(model(x_test), y_test)).numpy()  # 1 - p_y
        q_train = torch.sigmoid(-margin(model(x_train), y_train)).numpy()
    # grad CE = -(1 - p) grad f, on both sides: the two minus signs cancel
    np.testing.assert_allclose(by_loss, by_margin * q_test[:, None] * q_train[None, :], rtol=1e-4, atol=1e-6)
    cos_margin, _ = score_matrix("gradcos", model, x_train, y_train, x_test, y_test, **common)
    cos_loss, _ = score_matrix("gradcos", model, x_train, y_train, x_test, y_test, gradient="loss", **common)
    np.testing.assert_allclose(cos_loss, cos_margin, rtol=1e-4, atol=1e-6)  # positive factors cancel
    with pytest.raises(ValueError, match="gradient must be one of"):
        score_matrix("graddot", model, x_train, y_train, x_test, y_test, gradient="logit", **common)


def _explicit_gauss_newton(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(1/n) sum_i J_i^T H_i J_i with J_i the Jacobian of example i's logits in the parameters and
    H_i = diag(p_i) - p_i p_i^T, the Hessian of cross-entropy in the logits (closed form)."""
    theta, unflatten = flatten_params(model)
    total = torch.zeros(len(theta), len(theta), dtype=theta.dtype)
    for xi in x:
        jac = torch.autograd.functional.jacobian(
            lambda flat: torch.func.functional_call(model, unflatten(flat), (xi[None],))[0], theta
        )
        p = torch.softmax(torch.func.functional_call(model, unflatten(theta), (xi[None],))[0], -1).detach()
        total += jac.T @ (torch.diag(p) - torch.outer(p, p)) @ jac
    return total / len(x)


def test_gauss_newton_products_equal_the_explicit_matrix_and_cg_if_matches_its_inverse():
    model, x_train, y_train, x_test, y_test = _mlp_and_data(1)
    explicit = _explicit_gauss_newton(model, x_train, y_train)
    assert torch.linalg.eigvalsh(explicit).min() > -1e-10  # positive semi-definite
    n = len(explicit)
    vectors = torch.randn(n, 3, dtype=torch.float64)
    matvec = damped_gauss_newton_vp(model, x_train, y_train, mean_ce, damping=0.05, chunk_size=8)
    torch.testing.assert_close(matvec(vectors), (explicit + 0.05 * torch.eye(n, dtype=torch.float64)) @ vectors)
    # IF with it: no shift needed (shift_negative_curvature is ignored), and CG matches the inverse
    scores, info = score_matrix(
        "if",
        model,
        x_train,
        y_train,
        x_test,
        y_test,
        chunk_size=8,
        damping=0.05,
        shift_negative_curvature=True,
        curvature="gauss_newton",
        rtol=1e-10,
        max_iter=500,
    )
    assert info["damping_total"] == 0.05 and "hessian_min_eigenvalue" not in info

    def grads(x, y, fn):
        return torch.cat([torch.cat(b, 1) for _, b in per_sample_grads(model, x, y, fn, chunk_size=8)])

    inverse = torch.linalg.inv(explicit + 0.05 * torch.eye(n, dtype=torch.float64))
    expected = grads(x_test, y_test, margin) @ inverse @ grads(x_train, y_train, log_likelihood).T
    np.testing.assert_allclose(scores, expected.numpy(), rtol=1e-4, atol=1e-6)


def test_a_variant_needs_its_own_shift_the_unmasked_models_is_not_enough():
    """Why IF offers no "unmasked model's shift for its variants" option: a masked variant's
    Hessian is more indefinite, and CG refuses the system that shift leaves it with."""
    model, x_train, y_train, x_test, y_test = _mlp_and_data(2)
    common = dict(chunk_size=8, rtol=1e-6, max_iter=300, seed=3)
    lowest = lowest_hessian_eigenvalue(model, x_train, y_train, CLASSIFICATION, chunk_size=8, seed=3)
    with masked(model, sample_masks(model, x_train, seed=5)) as variant:
        _, own = score_matrix(
            "if", variant, x_train, y_train, x_test, y_test, damping=0.01, shift_negative_curvature=True, **common
        )
        assert own["hessian_min_eigenvalue"] < lowest < 0
        with pytest.raises(NotPositiveDefiniteError):
            score_matrix("if", variant, x_train, y_train, x_test, y_test, damping=0.01 - lowest, **common)
        # one damping above every member's -lambda_min serves them all
        _, uniform = score_matrix(
            "if", variant, x_train, y_train, x_test, y_test, damping=0.01 - own["hessian_min_eigenvalue"], **common
        )
    assert uniform["cg_converged"]


def test_per_example_masks_differ_between_identical_examples_and_repeat_with_the_seed():
    model, x_train, y_train, _, _ = _mlp_and_data(4)
    twins, labels = x_train[:1].repeat(2, 1), y_train[:1].repeat(2)

    def grads(seed: int) -> torch.Tensor:
        with fresh_masks(model, seed) as variant:
            return torch.cat(
                [torch.cat(b, 1) for _, b in per_sample_grads(variant, twins, labels, margin, chunk_size=2)]
            )

    first = grads(7)
    assert not torch.allclose(first[0], first[1])  # one batch, two identical inputs, two masks
    torch.testing.assert_close(grads(7), first)  # the same seed: the same masks
    assert not torch.allclose(grads(8), first)
    assert not any(site.training for site in model.modules())  # eval mode again afterwards


def test_the_mean_of_many_per_example_masked_activations_is_the_unmasked_activation():
    p, n = 0.3, 20000
    model = nn.Sequential(nn.Dropout(p)).double()
    x = torch.linspace(-1.0, 2.0, 5, dtype=torch.float64)
    with fresh_masks(model, 0) as variant, torch.no_grad():
        out = variant(x.repeat(n, 1))
    sem = x.abs() * np.sqrt(p / (1 - p) / n)  # each activation: x / (1 - p) with probability 1 - p
    assert ((out.mean(0) - x).abs() <= 4 * sem + 1e-12).all()
    assert (out[:, 1] == 0).any() and ((out[:, 1] - x[1] / (1 - p)).abs() < 1e-12).any()


def test_if_under_per_example_masks_takes_the_unmasked_curvature():
    model, x_train, y_train, x_test, y_test = _mlp_and_data(2)
    common = dict(chunk_size=8, damping=0.01, shift_negative_curvature=True, rtol=1e-6, max_iter=300, seed=3)
    lowest = lowest_hessian_eigenvalue(model, x_train, y_train, CLASSIFICATION, chunk_size=8, seed=3)
    with fresh_masks(model, 11) as variant:
        _, info = score_matrix("if", variant, x_train, y_train, x_test, y_test, **common)
        assert all(
            site.training for site in variant.modules() if isinstance(site, nn.Dropout)
        )  # restored after the solve
    assert info["hessian_min_eigenvalue"] == pytest.approx(lowest, rel=1e-6) and info["cg_converged"]


LANCZOS_IN_A_FRESH_PROCESS = """
import sys, torch
from tdacore.attribution.methods import lowest_hessian_eigenvalue
from tdacore.models.outputs import CLASSIFICATION
padding = torch.empty(int(sys.argv[1]))  # moves every later allocation: another memory layout
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10)).eval()
x, y = torch.randn(600, 64), torch.arange(600) % 10
print(repr(lowest_hessian_eigenvalue(model, x, y, CLASSIFICATION, chunk_size=128, seed=3)))
"""


def test_the_lowest_eigenvalue_of_a_float32_model_is_the_same_number_in_every_process():
    """IF's shift is computed on a float64 copy and rounded to 4 digits (its Lanczos tolerance is
    1e-2): processes with different memory layouts, whose float32 HVPs differ in their last bits,
    give the same number."""
    runs = [
        subprocess.run([sys.executable, "-c", LANCZOS_IN_A_FRESH_PROCESS, str(pad)], capture_output=True, text=True)
        for pad in (1, 1001, 50003)
    ]
    values = [float(run.stdout) for run in runs]
    assert values == [values[0]] * 3, [run.stderr[-500:] for run in runs]
    assert values[0] == float(f"{values[0]:.4g}")
