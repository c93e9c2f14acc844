"""One random stream per role (DESIGN.md): every seed derives from the experiment seed,
the role's name and the indices of the thing being made (model i, pass d, subset j)."""

from __future__ import annotations

import hashlib

import numpy as np
import torch


def derive_seed(base: int, role: str, *indices: int) -> int:
    """A 63-bit seed for `role` at `indices`, independent of every other (role, indices)."""
    role_key = int.from_bytes(hashlib.sha256(role.encode()).digest()[:4], "little")
    sequence = np.random.SeedSequence([int(base), role_key, *(int(i) for i in indices)])
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def numpy_rng(seed: int) -> np.random.Generator:
    """A numpy generator on its own stream."""
    return np.random.default_rng(seed)


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator on its own stream, on `device`."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator
