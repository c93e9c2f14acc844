"""Attribution of one model: per-sample gradients (grads), TRAK's features (trak, Eq. 2) and its
kernel with a ridge (ridge), random projections (projection/), influence functions by conjugate
gradients (hessian, cg) and Grad-Dot / Grad-Cos (methods). May import tdacore.models,
tdacore.data and tdacore.infra."""
