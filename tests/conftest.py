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
