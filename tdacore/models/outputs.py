"""The model-output functions of a setting (DESIGN.md): f for attribution and the LDS ground
truth, TRAK's Q, IF's training side and the training loss. Sign: a positive score means a
training example raises f.

Classification (Section 4.1): f is the margin log(p / (1 - p)) of the correct class, computed
from logits as z_y - logsumexp_{c != y} z_c so that it stays finite when p rounds to 1 in float32;
Q = 1 - p.

Sequences (the generative setting, Appendix B.1): an example is input events x (L) and target
events y (L), y_t the event that follows x_1..x_t, y_t = IGNORE where nothing is scored. f is the
log-likelihood sum_{t: y_t != IGNORE} log p(y_t | x_1..x_t): for a training sequence the
log-likelihood of its own events, for a test prompt the log-probability of the one generated
event (only the last target is set). Q is the mean over scored events of 1 - p(y_t | x_<=t), the
classification Q event by event (a choice: the paper does not state Q for this setting).

A researcher's own: model.outputs names a ModelOutputs (or a function of the task returning one),
e.g. a model that returns something other than logits, or another f (model_outputs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from tdacore.data.dataset import IGNORE
from tdacore.infra.references import BadReference, call_with, load_reference
from tdacore.models.registry import outputs_reference

OutputFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


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


def _event_log_probs(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(y_t | x_<=t) at every position (0 where y_t is IGNORE) and the scored positions."""
    scored = targets != IGNORE
    picked = log_likelihood(logits, torch.where(scored, targets, 0))  # gather: vmap-safe
    return picked * scored, scored


def sequence_log_likelihood(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """f of a sequence: sum over scored positions of log p(y_t | x_<=t); logits (..., L, V)."""
    picked, _ = _event_log_probs(logits, targets)
    return picked.sum(-1)


def sequence_one_minus_p(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Q of a sequence: the mean over scored positions of 1 - p(y_t | x_<=t)."""
    picked, scored = _event_log_probs(logits, targets)
    return ((1.0 - picked.exp()) * scored).sum(-1) / scored.sum(-1).clamp_min(1)


def sequence_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The seq2seq training loss (Appendix B.1): mean cross-entropy over all scored events."""
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE
    )


@dataclass(frozen=True)
class ModelOutputs:
    """The output functions of one setting, each (model output, targets) -> one value per example
    (the loss: one value, the batch's mean), differentiable and vmap-safe (torch.func: no
    data-dependent Python control flow)."""

    name: str  # what f is, recorded in every file that holds scores or outputs
    f: OutputFn  # attribution and LDS ground truth
    q: OutputFn  # TRAK's Q (Eq. 2)
    train_side: OutputFn  # IF's training-side gradient: minus the training loss's
    loss: OutputFn  # the mean training loss (training, IF's Hessian)


OUTPUTS = {
    "classification": ModelOutputs("margin", margin, one_minus_p, log_likelihood, mean_cross_entropy),
    "sequence": ModelOutputs(
        "log_likelihood", sequence_log_likelihood, sequence_one_minus_p, sequence_log_likelihood, sequence_cross_entropy
    ),
}

CLASSIFICATION = OUTPUTS["classification"]


def outputs_for(task: str) -> ModelOutputs:
    """The model outputs of a data set's task ("classification" or "sequence")."""
    if task not in OUTPUTS:
        raise ValueError(f"unknown task '{task}' (known: {', '.join(OUTPUTS)})")
    return OUTPUTS[task]


def model_outputs(model_spec: Mapping[str, Any], task: str) -> ModelOutputs:
    """The output functions a model is trained and attributed with: model.outputs, a researcher's
    ModelOutputs or a function returning one (called with `task` if it names it), else those of
    the data's task (outputs_for)."""
    ref = outputs_reference(model_spec)
    if ref is None:
        return outputs_for(task)
    found = load_reference(ref)
    if not isinstance(found, ModelOutputs):
        found = call_with(found, ref.key, {}, {"task": task})
    if not isinstance(found, ModelOutputs):
        raise BadReference(
            f"{ref.key}: '{ref}' gave {type(found).__name__}, not a tdacore.models.outputs.ModelOutputs "
            "(name, f, q, train_side, loss)"
        )
    return found
