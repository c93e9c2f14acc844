"""Gaussian projection: inner products preserved within the Johnson-Lindenstrauss tolerance."""

from __future__ import annotations

import numpy as np
import torch

from tdacore.projection import GaussianProjector, IdentityProjector, make_projector


def test_inner_products_within_jl_tolerance():
    n_params, k, pairs = 3000, 1024, 100
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(pairs, n_params, generator=g), torch.randn(pairs, n_params, generator=g)
    u[1::2] += 0.8 * v[1::2]  # correlated pairs too
    projector = GaussianProjector(n_params, k, seed=11, device=torch.device("cpu"), block_rows=700)
    pu, pv = projector([u]), projector([v])
    exact = (u * v).sum(1)
    projected = (pu * pv).sum(1)
    scale = u.norm(dim=1) * v.norm(dim=1)
    error = ((projected - exact) / scale).numpy()
    # Var <P^T u, P^T v> = (<u,v>^2 + |u|^2 |v|^2) / k <= 2 |u|^2 |v|^2 / k
    bound = np.sqrt(2 / k)
    assert np.abs(error).max() < 5 * bound
    assert np.abs(error.mean()) < 3 * bound / np.sqrt(pairs)  # unbiased
    norms = (pu.norm(dim=1) ** 2 / u.norm(dim=1) ** 2).numpy()
    assert np.abs(norms - 1).max() < 5 * np.sqrt(2 / k)


def test_same_seed_same_matrix_any_block_split():
    n_params, k = 1000, 16
    a = GaussianProjector(n_params, k, seed=3, device=torch.device("cpu"), block_rows=128)
    b = GaussianProjector(n_params, k, seed=3, device=torch.device("cpu"), block_rows=128, cache_bytes=0)
    c = GaussianProjector(n_params, k, seed=4, device=torch.device("cpu"), block_rows=128)
    grads = torch.randn(5, n_params)
    split = [grads[:, :300], grads[:, 300:301], grads[:, 301:]]
    torch.testing.assert_close(a(split), b([grads]))
    torch.testing.assert_close(a([grads]), grads @ a.matrix())
    assert (a([grads]) - c([grads])).abs().max() > 1e-2


def test_identity_and_unknown_kind():
    grads = torch.randn(3, 10)
    torch.testing.assert_close(IdentityProjector(10)([grads[:, :4], grads[:, 4:]]), grads)
    try:
        make_projector("sparse", 10, 4, 0, torch.device("cpu"))
    except ValueError as err:
        assert "trak.projection.kind" in str(err)
    else:
        raise AssertionError("unknown projection kind accepted")
