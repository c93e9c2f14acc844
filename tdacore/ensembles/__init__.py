"""Ensembles of attributions: the grid of ensemble kinds and sizes and the names of its points
(grid), one member loaded and varied, i.e. a model, checkpoint or adapter under a dropout pass
(members), how members' scores combine (combine: Eq. 1 and Eq. 2) and what a grid point's file
records (provenance). May import tdacore.attribution and every layer below it."""
