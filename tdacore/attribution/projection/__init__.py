"""Random projections of per-sample gradients to k dimensions (TRAK's phi = P^T g): dense
(Gaussian, or none: identity), the sparse JL transform (sjlt), Kronecker-factorised projections
of linear layers (factorised), the seeded row blocks they are drawn in (rowblocks), and the
driver that builds them from the config and projects a data set chunk by chunk (projectors)."""
