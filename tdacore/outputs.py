"""The model-output function f (DESIGN.md): one per setting, shared by attribution and LDS.

Classification: the margin log(p / (1 - p)) of the correct class, computed from logits as
z_y - logsumexp_{c != y} z_c so that it stays finite when p rounds to 1 in float32.
"""

from __future__ import annotations

import torch


def margin(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """log(p_y / (1 - p_y)) for each row of `logits` (any leading batch shape)."""
    # A boolean one-hot instead of gather/scatter: fast under torch.func.vmap.
    hit = torch.arange(logits.shape[-1], device=logits.device) == labels.unsqueeze(-1)
    correct = (logits * hit).sum(-1)
    others = logits.masked_fill(hit, float("-inf"))
    return correct - torch.logsumexp(others, dim=-1)


def one_minus_p(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """1 - p_y, TRAK's Q (Eq. 2), as sigmoid(-margin): stable where p_y is near 1."""
    return torch.sigmoid(-margin(logits, labels))


def log_likelihood(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """log p_y: its gradient is minus the training-loss gradient (IF's training side)."""
    return torch.log_softmax(logits, dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)


def mean_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The training loss of Appendix B.1, averaged over the batch (IF's Hessian)."""
    return torch.nn.functional.cross_entropy(logits, labels)
