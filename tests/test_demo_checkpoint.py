"""The committed demo checkpoint: float16, under 4 MB, loads strictly into the demo experiment's model; the
`make demo` job (tools/demo_job.py) finds both in the repository whatever the current directory."""
import os
import runpy

import pytest
import torch

from higherhrnet.config import load_config
from higherhrnet.models import build_model, load_model_weights


@pytest.fixture(scope="module")
def demo_job(repo, tmp_path_factory):
    """The globals of tools/demo_job.py, loaded (not run) from a directory outside the repository."""
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("elsewhere"))
    try:
        return runpy.run_path(str(repo / "tools" / "demo_job.py"))
    finally:
        os.chdir(cwd)


def test_demo_job_finds_its_files_relative_to_the_repository(demo_job, repo):
    assert demo_job["REPO"] == repo
    for name in ("CONFIG", "CHECKPOINT", "DATA", "OUTPUT"):
        assert demo_job[name].is_absolute() and demo_job[name].is_relative_to(repo), name


def test_demo_checkpoint_is_small_float16_and_fits_the_demo_config(demo_job):
    checkpoint, config = demo_job["CHECKPOINT"], demo_job["CONFIG"]
    assert checkpoint.is_file() and config.is_file()
    assert checkpoint.stat().st_size < 4 * 1024 * 1024
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    floating = [tensor for tensor in state.values() if tensor.is_floating_point()]
    assert floating and all(tensor.dtype == torch.float16 for tensor in floating)

    cfg = load_config(config)
    model = load_model_weights(build_model(cfg, is_train=False), checkpoint)
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point():
            assert tensor.dtype == torch.float32
            assert torch.equal(tensor, state[name].float()), name
