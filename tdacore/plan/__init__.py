"""The workflow's plan: a config read once, after its schema check, into frozen dataclasses
(settings: projection, model, optimiser, influence, LoRA, selection; plan: the readings of each
method with their ensemble grids, the sweeps, Section 5's variance decompositions and the sets of
models the grids need), by the pure function plan_from_config, which also makes the checks that
span sections. Torch-free: the workflow calls it while it plans the DAG. The top layer: it may
import every other (their torch-free modules)."""

from tdacore.plan.plan import Plan, Reading, Sweep, TheoryPlan, plan_from_config

__all__ = ["Plan", "Reading", "Sweep", "TheoryPlan", "plan_from_config"]
