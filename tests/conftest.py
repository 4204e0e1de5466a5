"""Shared test fixtures: where ../shared is, small helpers to load reference data."""
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIGHERHRNET_SHARED", REPO.parent / "shared")).resolve()

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def shared():
    """Path to the reference fixtures (../shared beside the repository)."""
    if not SHARED.is_dir():
        raise RuntimeError(f"reference fixtures not found at {SHARED}: clone the repository beside shared/")
    return SHARED


@pytest.fixture(scope="session")
def repo():
    return REPO
