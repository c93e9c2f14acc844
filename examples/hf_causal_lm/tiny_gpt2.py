"""A Hugging Face `transformers` causal language model, built from its config class (no weights are
downloaded): GPT-2's architecture at a CPU size, over bytes. The model a researcher brings
(config.yaml names it as model.factory)."""

from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel


class CausalLM(nn.Module):
    """GPT-2 called with what the data holds, the named inputs input_ids and attention_mask (batch, L),
    returning the logits (batch, L, vocabulary). Lines are padded on the left, so positions count
    from each line's first real byte, as Hugging Face's generation does for left padding."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.lm = GPT2LMHeadModel(config)

    def forward(self, input_ids, attention_mask):
        positions = (attention_mask.cumsum(-1) - 1).clamp_min(0)
        return self.lm(input_ids=input_ids, attention_mask=attention_mask, position_ids=positions).logits


def build(n_layer: int, n_head: int, n_embd: int, dropout: float, n_classes: int, in_dim: int) -> nn.Module:
    """n_classes is the vocabulary (the bytes' targets) and in_dim the line length L, both from the data.
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
