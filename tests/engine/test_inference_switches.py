"""Inference switches read from the config: TEST.BATCH_FLIP runs the mirror image in the same batch."""
import torch

from higherhrnet.config import load_config
from higherhrnet.engine.inference import InferenceSettings, PosePipeline
from higherhrnet.models import build_model, load_model_weights


def _tiny_pipeline(shared, opts):
    cfg = load_config(shared / "tiny" / "tiny_coco.yaml", opts)
    model = load_model_weights(build_model(cfg, is_train=False), shared / "tiny" / "tiny_coco.pth").eval()
    settings = InferenceSettings.from_config(cfg, torch.device("cpu"))
    return PosePipeline(model, settings, torch.device("cpu")), settings


def test_batch_flip_switch_gives_the_same_outputs_up_to_rounding(shared):
    plain, plain_settings = _tiny_pipeline(shared, [])
    batched, batched_settings = _tiny_pipeline(shared, ["TEST.BATCH_FLIP", "True"])
    assert not plain_settings.batch_flip and batched_settings.batch_flip
    network_input = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    outputs, flipped = plain.forward(network_input)
    outputs_batched, flipped_batched = batched.forward(network_input)
    for ours, reference in zip(outputs_batched + flipped_batched, outputs + flipped):
        assert ours.shape == reference.shape
        torch.testing.assert_close(ours, reference, atol=1e-4, rtol=1e-4)
