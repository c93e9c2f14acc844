"""Random projections (TRAK's P, Eq. 2): unbiased inner products, the variance each projector's
closed form predicts (their Johnson-Lindenstrauss error against dense at equal k), and the
factorised projection equal to the dense projection under its Kronecker-structured matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tdacore.attribution.grads import per_sample_grads
from tdacore.attribution.projection.dense import GaussianProjector, IdentityProjector
from tdacore.attribution.projection.factorised import linear_factors, split_dim
from tdacore.attribution.projection.projectors import make_projector, project_grads
from tdacore.attribution.projection.sjlt import SJLTProjector
from tdacore.attribution.projection.spec import Projection
from tdacore.models.outputs import margin

CPU = torch.device("cpu")


def _gaussian(n: int, k: int, seed: int) -> GaussianProjector:
    return GaussianProjector(n, k, seed, CPU, block_rows=700)


def _sjlt(nonzeros: int):
    return lambda n, k, seed: SJLTProjector(n, k, seed, CPU, nonzeros=nonzeros, block_rows=700)


def _pair(n: int, cosine: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two vectors with the given cosine (heavy-ish tails, so SJLT's 4th-moment term matters)."""
    g = torch.Generator().manual_seed(seed)
    u, w = torch.randn(n, generator=g) ** 3, torch.randn(n, generator=g)
    w -= (w @ u) / (u @ u) * u
    v = cosine * u / u.norm() + np.sqrt(1 - cosine**2) * w / w.norm()
    return u, v


def _inner_over_seeds(make, u, v, k, seeds=400):
    values = []
    for seed in range(seeds):
        projector = make(len(u), k, seed)
        pu, pv = projector([u[None]]), projector([v[None]])
        values.append(float(pu @ pv.T))
    return np.array(values)


# Closed-form Var <P^T u, P^T v> of each projector (entries independent, mean zero):
#   dense Gaussian N(0, 1/k):   (<u,v>^2 + |u|^2 |v|^2) / k
#   SJLT, s nonzeros per row:   (<u,v>^2 + |u|^2 |v|^2 - 2 sum_i u_i^2 v_i^2) / k   (s = 1: exact;
#                               s > 1 adds collision terms of order 1/(s k), dropped: tolerance)
@pytest.mark.parametrize(
    "name,make,variance",
    [
        ("gaussian", _gaussian, lambda u, v, k: ((u @ v) ** 2 + (u @ u) * (v @ v)) / k),
        ("sjlt1", _sjlt(1), lambda u, v, k: ((u @ v) ** 2 + (u @ u) * (v @ v) - 2 * (u**2 @ v**2)) / k),
        ("sjlt4", _sjlt(4), lambda u, v, k: ((u @ v) ** 2 + (u @ u) * (v @ v) - 2 * (u**2 @ v**2) / 4) / k),
    ],
)
def test_gradient_projectors_unbiased_with_their_closed_form_variance(name, make, variance):
    k, seeds = 32, 400
    for cosine in (0.0, 0.7):
        u, v = _pair(2000, cosine)
        values = _inner_over_seeds(make, u, v, k, seeds)
        predicted = float(variance(u.double(), v.double(), k))
        # mean: within 4 standard errors of <u, v>; variance: within 25% (sampling sd of a
        # variance over 400 draws is about sqrt(2/400) = 7%, heavier with the tails here)
        assert abs(values.mean() - float(u @ v)) < 4 * np.sqrt(predicted / seeds), name
        assert abs(values.var() / predicted - 1) < 0.25, (name, cosine, values.var(), predicted)


def test_sjlt_error_matches_dense_at_equal_k_on_many_pairs():
    # The JL error of one draw, over 200 pairs: SJLT (s = 1) within 20% of dense Gaussian's.
    n, k, pairs = 3000, 256, 200
    g = torch.Generator().manual_seed(1)
    u, v = torch.randn(pairs, n, generator=g), torch.randn(pairs, n, generator=g)
    u[1::2] += 0.8 * v[1::2]
    scale = u.norm(dim=1) * v.norm(dim=1)

    def rms_error(projector):
        return float((((projector([u]) * projector([v])).sum(1) - (u * v).sum(1)) / scale).pow(2).mean().sqrt())

    dense, sparse = rms_error(_gaussian(n, k, 5)), rms_error(SJLTProjector(n, k, 5, CPU))
    assert abs(sparse / dense - 1) < 0.2, (sparse, dense)
    assert dense < 2 * np.sqrt(1.64 / k)  # E[error^2] = (c^2 + 1) / k, c^2 <= 0.64 here


class _Sequence(nn.Module):
    """Linear -> LayerNorm -> ReLU -> Linear over positions, then the mean over positions: a
    linear layer called on a (batch x positions x width) input, and parameters outside linear layers."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(6, 5), nn.LayerNorm(5), nn.ReLU(), nn.Linear(5, 3, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.reshape(x.shape[0], 4, 6)).mean(1)


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(7, 6), nn.ReLU(), nn.Dropout(0.3), nn.Linear(6, 3)).eval()


def _data(n: int, width: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, width, generator=g), torch.randint(0, 3, (n,), generator=g)


def _factorised(model, x, dim, seed, rest="gaussian"):
    return make_projector(Projection("factorised", dim, rest=rest), model, x, seed, CPU)


@pytest.mark.parametrize("build,width", [(_mlp, 7), (_Sequence, 24)])
@pytest.mark.parametrize("rest", ["gaussian", "sjlt"])
def test_factorised_equals_dense_projection_under_its_kronecker_matrix(build, width, rest):
    torch.manual_seed(0)
    model = build()
    x, y = _data(9, width)
    projector = _factorised(model, x, 12, seed=3, rest=rest)
    assert projector.k_out * projector.k_in == 12
    g = torch.cat(next(per_sample_grads(model, x, y, margin, 9))[1], dim=1)
    exact = g @ projector.matrix()
    torch.testing.assert_close(project_grads(model, x, y, projector, 4, margin), exact, rtol=1e-4, atol=1e-5)
    # The rest (LayerNorm's weight and bias) is really there, the biasless layer has no bias row.
    names = {site.name: site for site in projector.sites.layers}
    if build is _Sequence:
        assert projector.sites.rest == ("inner.1.weight", "inner.1.bias") and names["inner.3"].bias is False
    else:
        assert projector.sites.rest == () and projector.rest is None


def test_factorised_unbiased_over_seeds_with_the_kronecker_variance():
    # One linear layer without bias, one example each: u = delta (x) a, v = delta' (x) a'.
    # Var <P^T u, P^T v> = x^2 Var Y + y^2 Var X + Var X Var Y with X, Y the projected inner
    # products of the output gradients (k_out) and the inputs (k_in): closed form per factor.
    model = nn.Sequential(nn.Linear(40, 30, bias=False))
    x = torch.randn(2, 40, generator=torch.Generator().manual_seed(2))
    y = torch.zeros(2, dtype=torch.long)
    out_fn = lambda logits, labels: (logits * torch.linspace(-1, 1, 30)).sum(-1) + 0.3 * (logits**2).sum(-1)  # noqa: E731
    g = torch.cat(next(per_sample_grads(model, x, y, out_fn, 2))[1], dim=1)
    k = 64
    values = np.array(
        [
            float(np.prod(project_grads(model, x, y, _factorised(model, x, k, s), 2, out_fn).numpy(), axis=0).sum())
            for s in range(400)
        ]
    )
    k_out, k_in = split_dim(k)
    ((_, (chunk)),) = list(linear_factors(model, x, y, out_fn, 2, _factorised(model, x, k, 0).sites))
    a, delta = chunk.factors["0"][0]
    a, delta = a[:, 0].double(), delta[:, 0].double()
    xd, yd = float(delta[0] @ delta[1]), float(a[0] @ a[1])
    var_x = (xd**2 + float(delta[0] @ delta[0] * (delta[1] @ delta[1]))) / k_out
    var_y = (yd**2 + float(a[0] @ a[0] * (a[1] @ a[1]))) / k_in
    predicted = xd**2 * var_y + yd**2 * var_x + var_x * var_y
    assert abs(values.mean() - float(g[0] @ g[1])) < 4 * np.sqrt(predicted / len(values))
    assert abs(values.var() / predicted - 1) < 0.3, (values.var(), predicted)


def test_factorised_refuses_per_example_masks_with_rest_parameters_and_wrong_widths():
    model = _Sequence()
    model.inner.insert(3, nn.Dropout(0.2))
    x, y = _data(4, 24)
    projector = _factorised(model, x, 8, 0)
    model.inner[3].train()  # tdacore.models.dropout.fresh_masks: per-example masks
    with pytest.raises(ValueError, match="per-example dropout masks"):
        project_grads(model, x, y, projector, 4, margin)
    model.eval()
    ((_, chunk),) = list(linear_factors(model, x, y, margin, 4, projector.sites))
    chunk.factors["inner.0"][0] = (torch.randn(4, 4, 5), chunk.factors["inner.0"][0][1])
    with pytest.raises(ValueError, match="inner.0 .6 -> 5. got inputs of width 5"):
        projector(chunk)


def test_same_seed_same_features_any_split_and_wrong_width_refused():
    n_params, k = 1000, 16
    grads = torch.randn(5, n_params)
    split = [grads[:, :300], grads[:, 300:301], grads[:, 301:]]
    for make in (
        lambda s, **kw: GaussianProjector(n_params, k, s, CPU, block_rows=128, **kw),
        lambda s, **kw: SJLTProjector(n_params, k, s, CPU, nonzeros=2, block_rows=128),
    ):
        a, again = make(3), make(3)
        torch.testing.assert_close(a(split), again([grads]), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(a([grads]), grads @ a.matrix(), rtol=1e-5, atol=1e-5)
        assert (a([grads]) - make(4)([grads])).abs().max() > 1e-2
        with pytest.raises(ValueError, match=f"built for {n_params} parameters got gradients of width 999"):
            a([grads[:, 1:]])
    # Dense P kept in memory or redrawn block by block: the same P.
    kept, redrawn = (
        GaussianProjector(n_params, k, 3, CPU, block_rows=128),
        GaussianProjector(n_params, k, 3, CPU, block_rows=128, cache_bytes=0),
    )
    assert kept.fits and not redrawn.fits
    torch.testing.assert_close(kept(split), redrawn([grads]), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(kept(split), redrawn(split), rtol=1e-5, atol=1e-5)
    # The factorised projection: same seed, same features on a rerun.
    model = _mlp()
    x, y = _data(6, 7)
    first, second = (project_grads(model, x, y, _factorised(model, x, 6, 1), 6, margin) for _ in range(2))
    torch.testing.assert_close(first, second, rtol=0, atol=0)


def test_a_redrawn_dense_projection_draws_each_row_block_once_per_call(monkeypatch):
    """Many small parameter tensors (biases, norms) share a row block: it is drawn once, not once
    per tensor (a ResNet-9's P is 147 blocks of 256 MiB, redrawn for every chunk)."""
    n_params, k = 1000, 8
    grads = torch.randn(3, n_params)
    expected = grads @ GaussianProjector(n_params, k, 3, CPU, block_rows=128).matrix()
    projector = GaussianProjector(n_params, k, 3, CPU, block_rows=128, cache_bytes=0)
    drawn, draw = [], projector._draw
    monkeypatch.setattr(projector, "_draw", lambda r, out=None: drawn.append(r) or draw(r, out=out))
    torch.testing.assert_close(projector(list(grads.split(7, dim=1))), expected, rtol=1e-5, atol=1e-5)
    assert drawn == list(range(8))  # ceil(1000 / 128) row blocks, each once


def test_identity_and_unknown_kinds():
    grads = torch.randn(3, 10)
    torch.testing.assert_close(IdentityProjector(10)([grads[:, :4], grads[:, 4:]]), grads)
    model = _mlp()
    with pytest.raises(ValueError, match="trak.projection.kind: unknown kind 'sparse'"):
        Projection("sparse", 4)
    with pytest.raises(ValueError, match="trak.projection.rest"):
        Projection("factorised", 4, rest="identity")
    with pytest.raises(ValueError, match="trak.projection.nonzeros"):
        make_projector(Projection("sjlt", 4, nonzeros=5), model, torch.zeros(1, 7), 0, CPU)


def test_several_dense_projections_of_one_gradient_pass_stay_within_the_memory_budget(monkeypatch):
    import tdacore.attribution.projection.projectors as projection

    model = _mlp()
    x, y = _data(10, 7)
    n_params = 7 * 6 + 6 + 6 * 3 + 3
    budget = 2 * n_params * 5 * 4  # two 5-column matrices at a time
    projectors = [GaussianProjector(n_params, 5, seed, CPU, cache_bytes=budget) for seed in range(3)]
    assert projection._groups_within_budget(projectors) == [[0, 1], [2]]
    passes = []
    counted = projection.linear_gradients
    monkeypatch.setattr(projection, "linear_gradients", lambda *a, **kw: passes.append(1) or counted(*a, **kw))
    together, _ = projection.project_grads_each(model, x, y, projectors, 4, margin)
    assert len(passes) == 2 and all(p._matrix is None for p in projectors)  # released after their group
    for projector, features in zip(projectors, together):
        torch.testing.assert_close(features, project_grads(model, x, y, projector, 10, margin), rtol=1e-5, atol=1e-6)


class _SequenceMLP(nn.Module):
    """Linear layers over positions (each called on a batch x positions x width input), no
    parameter outside them, the second layer called twice (shared weights)."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = nn.Linear(6, 5), nn.Linear(5, 5)
        self.out = nn.Linear(5, 3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.first(x.reshape(x.shape[0], 4, 6)))
        return self.out(torch.tanh(self.second(torch.relu(self.second(h))))).mean(1)


@pytest.mark.parametrize("build,width", [(_mlp, 7), (_SequenceMLP, 24)])
def test_gradients_from_layer_factors_equal_vmap_gradients(build, width):
    from tdacore.attribution.projection.factorised import find_sites, linear_gradients
    from tdacore.models.dropout import masked, sample_masks

    torch.manual_seed(1)
    model = build()
    x, y = _data(9, width)
    sites = find_sites(model, x)
    assert sites.rest == ()
    masks = sample_masks(model, x, seed=4) if build is _mlp else None  # a fixed dropout mask acts too
    with masked(model, masks):
        expected = [torch.cat(blocks, 1) for _, blocks in per_sample_grads(model, x, y, margin, 4)]
        got = [torch.cat(blocks, 1) for _, blocks in linear_gradients(model, x, y, margin, 4, sites)]
    for e, g in zip(expected, got, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)
