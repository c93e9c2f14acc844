"""The one registry of attribution methods (Appendix A): each method's name in configs, its name
in tables and figures, the per_method choices it takes, and how its ensemble averages members.
Torch-free: the workflow reads it while it plans the DAG."""

from __future__ import annotations

from dataclasses import dataclass

# Choices every method but TRAK takes per reading (TRAK's are the shared train.base_fraction and
# dropout_masks): its base models' share of the training data, how its dropout passes draw masks.
_OWN_MODELS = frozenset({"base_fraction", "dropout_masks"})


@dataclass(frozen=True)
class Method:
    """One attribution method: `name` in configs and file names, `label` in tables and figures,
    `choices` the per_method keys a reading of it may set, `kernels` whether its ensemble
    averages members' kernels with their Q (TRAK, Eq. 2) rather than members' score matrices."""

    name: str
    label: str
    choices: frozenset[str]
    kernels: bool = False


METHODS: dict[str, Method] = {
    method.name: method
    for method in (
        Method("trak", "TRAK", frozenset({"ridge", "ridge_relative"}), kernels=True),
        Method("if", "IF (CG)", frozenset({"curvature", "influence"}) | _OWN_MODELS),
        Method("graddot", "Grad-Dot", frozenset({"gradient"}) | _OWN_MODELS),
        Method("gradcos", "Grad-Cos", frozenset({"gradient"}) | _OWN_MODELS),
    )
}
ALL_CHOICES = frozenset().union(*(method.choices for method in METHODS.values()))


def method(name: str) -> Method:
    """The registered method `name`, or an error listing them."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method '{name}' (known: {', '.join(METHODS)})") from None
