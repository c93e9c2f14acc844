"""The generative setting's test targets (Appendix B.1): each test prompt generates one event,
and the model output is the log-probability of that event given the prompt."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def greedy_next_events(model: nn.Module, prompts: torch.Tensor, chunk_size: int) -> np.ndarray:
    """The most probable next event after each prompt (greedy decoding of one event), with the
    model in eval mode (no dropout)."""
    model.eval()
    chunks = [model(prompts[s : s + chunk_size])[:, -1].argmax(-1) for s in range(0, len(prompts), chunk_size)]
    return torch.cat(chunks).cpu().numpy()
