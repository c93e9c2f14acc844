"""tdacore: the scientific core of tda-ensembles.

Training data attribution (TRAK, Eq. 2 of *Efficient Ensembles Improve Training Data
Attribution*; influence functions, Grad-Dot, Grad-Cos), its naive, Dropout and LoRA Ensembles,
and their evaluation by the linear datamodeling score (Appendix D) and measured costs. Plain
typed Python on tensors, arrays and files; it never imports snakemake.

Subpackages by concern, in layers whose imports only point down (tests/test_layers.py):
infra < data < models < attribution < ensembles < evaluation < reporting.
"""

__version__ = "0.1.0"
