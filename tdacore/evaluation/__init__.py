"""Evaluation: the linear datamodeling score (lds, Appendix D), held-out selection among readings
(selection, sweeps), the cost tables (costs), Section 5's variance decomposition (theory) and
the ensemble planner (planner), and the featurization benchmark (bench). May import
tdacore.ensembles and every layer below it."""
