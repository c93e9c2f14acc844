"""Evaluation: the linear datamodeling score (lds, Appendix D), held-out selection among readings
(selection, sweeps), the cost tables (costs), Section 5's variance decomposition (theory) and
the ensemble planner (planner), the featurization benchmark (bench), and a sharded TRAK run's
scores reduced as they are made (trak_blocks, blocked, collect). May import
tdacore.ensembles and every layer below it."""
