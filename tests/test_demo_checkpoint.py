"""The committed demo checkpoint: float16, under 4 MB, loads strictly into the demo experiment's model."""
import torch

from higherhrnet.config import load_config
from higherhrnet.demo_job import CHECKPOINT, CONFIG
from higherhrnet.models import build_model, load_model_weights


def test_demo_checkpoint_is_small_float16_and_fits_the_demo_config():
    assert CHECKPOINT.is_file() and CONFIG.is_file()
    assert CHECKPOINT.stat().st_size < 4 * 1024 * 1024
    state = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
    floating = [tensor for tensor in state.values() if tensor.is_floating_point()]
    assert floating and all(tensor.dtype == torch.float16 for tensor in floating)

    cfg = load_config(CONFIG)
    model = load_model_weights(build_model(cfg, is_train=False), CHECKPOINT)
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point():
            assert tensor.dtype == torch.float32
            assert torch.equal(tensor, state[name].float()), name
