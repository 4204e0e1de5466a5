"""Shared test fixtures: where ../shared is, small helpers to load reference data."""
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIGHERHRNET_SHARED", REPO.parent / "shared")).resolve()

# The thread count of the run: OMP_NUM_THREADS (CI runs the parity tests at 1 and 2), else 2 as the
# fixtures were made. A 1-thread and a 2-thread run can differ in the last bits (tests/near_ties.py).
TORCH_THREADS = int(os.environ.get("OMP_NUM_THREADS") or 2)
torch.set_num_threads(TORCH_THREADS)


@pytest.fixture(scope="session")
def shared():
    """Path to the reference fixtures (../shared beside the repository)."""
    if not SHARED.is_dir():
        raise RuntimeError(f"reference fixtures not found at {SHARED}: clone the repository beside shared/")
    return SHARED


@pytest.fixture(scope="session")
def repo():
    return REPO


def _three_stage_opts(output_sizes, deconv_channels, deconv_kernels, with_ae):
    """Config overrides for a HigherHRNet with two deconv stages (three outputs), as KEY VALUE strings.

    output_sizes: the three DATASET.OUTPUT_SIZE values; deconv_channels / deconv_kernels: two each;
    with_ae: the three LOSS.WITH_AE_LOSS flags. Heatmap losses on every stage, tags tested on stage 0.
    """
    as_list = lambda values: "[" + ", ".join(str(value) for value in values) + "]"  # noqa: E731
    return ['LOSS.NUM_STAGES', '3', 'LOSS.WITH_HEATMAPS_LOSS', '[True, True, True]',
            'LOSS.HEATMAPS_LOSS_FACTOR', '[1.0, 1.0, 1.0]', 'LOSS.WITH_AE_LOSS', as_list(with_ae),
            'LOSS.PUSH_LOSS_FACTOR', '[0.001, 0.001, 0.001]', 'LOSS.PULL_LOSS_FACTOR', '[0.001, 0.001, 0.001]',
            'TEST.WITH_HEATMAPS', '(True, True, True)', 'TEST.WITH_AE', '(True, False, False)',
            'DATASET.OUTPUT_SIZE', as_list(output_sizes), 'MODEL.EXTRA.DECONV.NUM_DECONVS', '2',
            'MODEL.EXTRA.DECONV.NUM_CHANNELS', as_list(deconv_channels),
            'MODEL.EXTRA.DECONV.KERNEL_SIZE', as_list(deconv_kernels), 'MODEL.EXTRA.DECONV.CAT_OUTPUT', '[True, True]']


@pytest.fixture(scope="session")
def three_stage_opts():
    """The function `_three_stage_opts(output_sizes, deconv_channels, deconv_kernels, with_ae)`."""
    return _three_stage_opts


def pytest_terminal_summary(terminalreporter):
    """List the fixture differences the near-tie helper accepted (tests/near_ties.py), with their margins."""
    from near_ties import ACCEPTED

    if ACCEPTED:
        terminalreporter.section("differences accepted as float near-ties of the official decisions")
        for tie in ACCEPTED:
            terminalreporter.line(str(tie))
