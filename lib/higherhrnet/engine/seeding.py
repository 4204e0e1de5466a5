"""Seeding for reproducible runs (TRAIN.SEED >= 0; the official code seeds nothing)."""
import random

import numpy as np
import torch


def seed_everything(seed):
    """Seed Python's `random`, NumPy's global RNG and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)
