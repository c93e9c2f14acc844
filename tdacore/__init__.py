"""tdacore: the scientific core of tda-ensembles.

Training data attribution (TRAK, Eq. 2 of *Efficient Ensembles Improve Training Data
Attribution*), its naive and Dropout Ensembles (Section 3.3) and the linear datamodeling
score (Appendix D). Plain typed Python on tensors, arrays and files; never imports snakemake.
"""

__version__ = "0.1.0"
