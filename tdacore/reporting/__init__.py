"""Reporting: the result tables as TSV and HTML (tables) and the figures (plots). The top layer:
it may import every other."""
