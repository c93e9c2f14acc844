"""A Hugging Face `transformers` causal language model, built from its config class (no weights are
downloaded): GPT-2's architecture at a CPU size, over bytes. The model a researcher brings
(config.yaml names it as model.factory)."""

from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel


class CausalLM(nn.Module):
    """GPT-2 with the interface the workflow calls: token ids (batch, L) -> logits (batch, L, vocabulary)."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.lm = GPT2LMHeadModel(config)

    def forward(self, input_ids):
        return self.lm(input_ids=input_ids).logits


def build(n_layer: int, n_head: int, n_embd: int, dropout: float, n_classes: int, in_dim: int) -> nn.Module:
    """n_classes is the vocabulary (256 bytes) and in_dim the window length L, both from the data.
    Eager attention: per-sample gradients (torch.func.vmap) run through it."""
    config = GPT2Config(
        vocab_size=n_classes,
        n_positions=in_dim,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        bos_token_id=None,
        eos_token_id=None,
        attn_implementation="eager",
    )
    return CausalLM(config)
