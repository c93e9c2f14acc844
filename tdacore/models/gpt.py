"""A character-level GPT in nanoGPT's layout (karpathy/nanoGPT, model.py) for Appendix J's
Shakespeare setting: token + learned position embeddings, pre-LayerNorm blocks of causal
self-attention and a GELU MLP (4 x d_model), a final LayerNorm and a linear head.

Choices (docs/design.md):
- every dropout site is an `nn.Dropout` (embedding, attention weights, after attention, after the
  MLP), nanoGPT's four sites, so the Dropout Ensemble's masks apply unchanged (tdacore.models.dropout);
- attention is computed explicitly (no fused kernel, whose dropout would not be an nn.Dropout),
  with separate `w_q`, `w_k`, `w_v`, `w_o` linears (nanoGPT fuses q, k, v into one `c_attn`) so
  that LoRA can adapt W_q and W_v alone, as the paper does (Appendix C.2);
- linears carry biases (nanoGPT's GPTConfig default; LoRA's "trainable biases" need them), the
  head has none and is not tied to the token embedding: every parameter has one name, which
  per-parameter gradient blocks, the factorised projection and LoRA rely on;
- nanoGPT's initialisation: N(0, 0.02) weights, zero biases, residual projections (w_o and the
  MLP's output) N(0, 0.02 / sqrt(2 layers)).
Shapes only, no data-dependent control flow: `torch.func.functional_call` + `vmap(grad(...))`
works on single examples (tdacore.attribution.grads).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from tdacore.models.music_transformer import CausalSelfAttention


class Block(nn.Module):
    """Pre-LN block: x + Dropout(Attn(LN(x))), then x + Dropout(MLP(LN(x)))."""

    def __init__(self, d_model: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.ln_attn = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, heads, dropout)
        self.attn_out_dropout = nn.Dropout(dropout)
        self.ln_mlp = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))
        self.mlp_out_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn_out_dropout(self.attn(self.ln_attn(x)))
        return x + self.mlp_out_dropout(self.mlp(self.ln_mlp(x)))


class GPT(nn.Module):
    """Decoder-only GPT: (B, L) token ids, L <= block_size -> (B, L, vocab) next-token logits."""

    def __init__(self, vocab_size: int, block_size: int, layers: int, heads: int, d_model: int, dropout: float) -> None:
        super().__init__()
        self.block_size = block_size
        self.token_embed = nn.Embedding(vocab_size, d_model)
        self.position_embed = nn.Embedding(block_size, d_model)
        self.embed_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d_model, heads, dropout) for _ in range(layers))
        self.ln_final = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self._init_weights(layers)

    def _init_weights(self, layers: int) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for block in self.blocks:
            for residual in (block.attn.w_o, block.mlp[2]):
                nn.init.normal_(residual.weight, mean=0.0, std=0.02 / math.sqrt(2 * layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[-1]
        if length > self.block_size:
            raise ValueError(f"sequence length {length} exceeds the block size {self.block_size} (data.seq_len)")
        positions = torch.arange(length, device=x.device)
        h = self.embed_dropout(self.token_embed(x) + self.position_embed(positions))
        for block in self.blocks:
            h = block(h)
        return self.head(self.ln_final(h))


def build(*, layers: int, heads: int, d_model: int, dropout: float, in_dim: int, n_classes: int) -> GPT:
    """The config's `model` entry as a GPT with a block size of in_dim characters of a
    vocabulary of n_classes (tdacore.models.registry)."""
    return GPT(n_classes, in_dim, layers, heads, d_model, float(dropout))
