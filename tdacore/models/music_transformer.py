"""Music Transformer decoder (Huang et al. 2018, "Music Transformer: Generating music with
long-term structure") for next-event prediction over the 388-event MIDI vocabulary.

Choices, following the paper and its tensor2tensor implementation:
- relative attention only (no absolute positions); the relative logits use the paper's
  memory-efficient "skewing" (Sec. 3.4.1) with one learned embedding per relative distance
  *per head*, E_r of shape (heads, max_len, d_head), rows ordered from distance -(max_len-1) to 0
  (the paper: "learned separately for each head");
- pre-LN decoder blocks (t2t: LayerNorm before each sub-layer, dropout + residual after) and a
  final LayerNorm before the linear read-out;
- token embeddings scaled by sqrt(d_model) (t2t's "sqrt_depth" embedding mode);
- ReLU feed-forward; every dropout site is an `nn.Dropout` (embedding, attention weights,
  after attention, after feed-forward).
The paper's sizes (Appendix B.1) are 6 layers, 8 heads, d_model 512, feed-forward 1024.

Everything is functional in shapes only, so `torch.func.functional_call` + `vmap(grad(...))`
works on single examples, and `w_q`/`w_k`/`w_v`/`w_o` are separate `nn.Linear`s for peft LoRA.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def skew(rel: torch.Tensor) -> torch.Tensor:
    """Huang et al.'s skewing of rel = Q E_r^T (..., L, L): pad a dummy column on the left,
    reshape to (L+1, L), drop the first row. Result[i, j] = rel[i, (L-1) - (i-j)] for j <= i
    (entries with j > i are meaningless and must be masked)."""
    length = rel.shape[-1]
    padded = F.pad(rel, (1, 0))
    return padded.reshape(*rel.shape[:-2], length + 1, length)[..., 1:, :]


def relative_logits_direct(q: torch.Tensor, e_r: torch.Tensor) -> torch.Tensor:
    """O(L^2) reference: out[..., i, j] = q_i . e_r[(L-1) - (i-j)] for j <= i, else 0.
    q: (..., L, d); e_r: (..., L, d) (broadcastable leading dims), rows for distances -(L-1)..0."""
    length = q.shape[-2]
    shape = torch.broadcast_shapes(q.shape[:-2], e_r.shape[:-2]) + (length, length)
    out = torch.zeros(shape, dtype=q.dtype, device=q.device)
    for i in range(length):
        for j in range(i + 1):
            out[..., i, j] = (q[..., i, :] * e_r[..., (length - 1) - (i - j), :]).sum(-1)
    return out


def causal_mask(length: int, device: torch.device) -> torch.Tensor:
    """Boolean (L, L) mask, True where key j is in the future of query i (j > i)."""
    return torch.ones(length, length, dtype=torch.bool, device=device).triu(1)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with dropout on the attention weights and separate
    `w_q`/`w_k`/`w_v`/`w_o` linears (GPT's, tdacore.models.gpt; the Music Transformer adds relative
    position logits)."""

    def __init__(self, d_model: int, heads: int, dropout: float) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"model.d_model = {d_model} is not divisible by model.heads = {heads}")
        self.heads, self.d_head = heads, d_model // heads
        self.w_q = nn.Linear(d_model, d_model)
        self.w_k = nn.Linear(d_model, d_model)
        self.w_v = nn.Linear(d_model, d_model)
        self.w_o = nn.Linear(d_model, d_model)
        self.attn_dropout = nn.Dropout(dropout)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        batch, length, _ = t.shape
        return t.reshape(batch, length, self.heads, self.d_head).transpose(1, 2)  # (B, H, L, Dh)

    def position_logits(self, q: torch.Tensor) -> torch.Tensor | float:
        """Logits added to q k^T from positions alone: none here."""
        return 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, L, d_model) -> (B, L, d_model)."""
        batch, length, d_model = x.shape
        q, k, v = self._split(self.w_q(x)), self._split(self.w_k(x)), self._split(self.w_v(x))
        logits = (q @ k.transpose(-1, -2) + self.position_logits(q)) / math.sqrt(self.d_head)
        logits = logits.masked_fill(causal_mask(length, x.device), float("-inf"))
        weights = self.attn_dropout(logits.softmax(dim=-1))
        return self.w_o((weights @ v).transpose(1, 2).reshape(batch, length, d_model))


class RelativeSelfAttention(CausalSelfAttention):
    """Causal multi-head self-attention with relative position logits (per-head E_r, skewing)."""

    def __init__(self, d_model: int, heads: int, max_len: int, dropout: float) -> None:
        super().__init__(d_model, heads, dropout)
        self.max_len = max_len
        self.e_r = nn.Parameter(torch.randn(heads, max_len, self.d_head) * self.d_head**-0.5)

    def position_logits(self, q: torch.Tensor) -> torch.Tensor:
        """Huang et al.'s S_rel = skew(Q E_r^T) for distances -(L-1)..0."""
        e_r = self.e_r[:, self.max_len - q.shape[-2] :, :]  # (H, L, Dh)
        return skew(q @ e_r.transpose(-1, -2))


class DecoderBlock(nn.Module):
    """Pre-LN block: x + Dropout(Attn(LN(x))), then x + Dropout(FF(LN(x))) with a ReLU FF."""

    def __init__(self, d_model: int, heads: int, d_ff: int, max_len: int, dropout: float) -> None:
        super().__init__()
        self.ln_attn = nn.LayerNorm(d_model)
        self.attn = RelativeSelfAttention(d_model, heads, max_len, dropout)
        self.attn_out_dropout = nn.Dropout(dropout)
        self.ln_ff = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model))
        self.ff_out_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn_out_dropout(self.attn(self.ln_attn(x)))
        return x + self.ff_out_dropout(self.ff(self.ln_ff(x)))


class MusicTransformer(nn.Module):
    """Decoder-only Music Transformer: (B, L) event ids -> (B, L, vocab) next-event logits."""

    def __init__(
        self, vocab_size: int, max_len: int, layers: int, heads: int, d_model: int, d_ff: int, dropout: float
    ) -> None:
        super().__init__()
        self.max_len, self.d_model = max_len, d_model
        self.embed = nn.Embedding(vocab_size, d_model)
        self.embed_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(DecoderBlock(d_model, heads, d_ff, max_len, dropout) for _ in range(layers))
        self.ln_final = nn.LayerNorm(d_model)
        self.readout = nn.Linear(d_model, vocab_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] > self.max_len:
            raise ValueError(f"sequence length {x.shape[-1]} exceeds max_len={self.max_len}")
        h = self.embed_dropout(self.embed(x) * math.sqrt(self.d_model))
        for block in self.blocks:
            h = block(h)
        return self.readout(self.ln_final(h))


def build(
    *, layers: int, heads: int, d_model: int, d_ff: int, dropout: float, in_dim: int, n_classes: int
) -> MusicTransformer:
    """The config's `model` entry as a Music Transformer over sequences of up to in_dim events of
    a vocabulary of n_classes (tdacore.models.registry)."""
    return MusicTransformer(n_classes, in_dim, layers, heads, d_model, d_ff, float(dropout))
