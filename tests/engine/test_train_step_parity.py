"""One training step of the tiny model on the official fixed batch (shared/train/README.md §4).

The batch (4 COCO samples, setting noaug) is rebuilt from targets_coco_in256.npz; the model loads
tiny_coco.pth and runs in train mode; our loss, total and Adam step must give the official values.
Tolerances from the README §7: losses rtol 1e-4, gradient norms rtol 1e-3, parameters after Adam ~1e-6.
"""
import json

import numpy as np
import pytest
import torch

from higherhrnet.config import load_config
from higherhrnet.data.image_io import to_input_tensor
from higherhrnet.engine.training import build_optimizer
from higherhrnet.losses import MultiLossFactory, total_loss
from higherhrnet.models import build_model, load_model_weights

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)

VARIANTS = ["exp", "max", "exp_tagscale0.25", "max_tagscale0.25"]


@pytest.fixture(scope="module")
def batch(shared):
    targets = np.load(shared / "train" / "targets_coco_in256.npz")
    prefixes = [f"img{n}_noaug_" for n in range(4)]
    images = torch.stack([to_input_tensor(targets[p + "image_warped"]) for p in prefixes])
    per_stage = lambda name: [torch.from_numpy(np.stack([targets[p + f"{name}{s}"] for p in prefixes]))  # noqa: E731
                              for s in range(2)]
    return images, per_stage("heatmaps"), per_stage("mask"), per_stage("joints_target")


@pytest.mark.parametrize("variant", VARIANTS)
def test_tiny_model_training_step_matches_the_official_one(shared, batch, variant):
    reference = json.loads((shared / "train" / "loss_tiny_batch.json").read_text())[variant]
    arrays = np.load(shared / "train" / "loss_tiny_batch.npz")
    cfg = load_config(shared / "tiny" / "tiny_coco.yaml", ["LOSS.AE_LOSS_TYPE", reference["ae_loss_type"]])
    model = load_model_weights(build_model(cfg), shared / "tiny" / "tiny_coco.pth")
    if reference.get("tag_scale"):
        with torch.no_grad():
            model.final_layers[0].weight[17:] *= reference["tag_scale"]
            model.final_layers[0].bias[17:] *= reference["tag_scale"]
    model.train()
    loss_fn = MultiLossFactory.from_config(cfg)
    optimizer = build_optimizer(cfg, model)

    images, heatmaps, masks, joints = batch
    outputs = model(images)
    heatmaps_losses, push_losses, pull_losses = loss_fn(outputs, heatmaps, masks, joints)
    loss, _ = total_loss(heatmaps_losses, push_losses, pull_losses)
    for name, ours in (("stage0_heatmaps", heatmaps_losses[0]), ("stage0_push", push_losses[0]),
                       ("stage0_pull", pull_losses[0]), ("stage1_heatmaps", heatmaps_losses[1])):
        expected = arrays[f"{variant}.{name}"]
        np.testing.assert_allclose(ours.detach().numpy(), expected, rtol=1e-4, atol=1e-9, err_msg=name)
    assert loss.item() == pytest.approx(reference["loss"], rel=1e-4)

    optimizer.zero_grad()
    loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert len(grads) == len(reference["grad_l2_norm"]) == 283
    for name, expected_norm in reference["grad_l2_norm"].items():
        norm = float(grads[name].double().norm())
        assert norm == pytest.approx(expected_norm, rel=1e-3, abs=1e-12), name
    for name in ("final_layers.0.bias", "final_layers.1.bias", "final_layers.1.weight", "deconv_layers.0.0.1.weight",
                 "bn1.weight"):
        grad = arrays[f"{variant}.grad.{name}"]
        np.testing.assert_allclose(grads[name].numpy(), grad, rtol=0, atol=1e-3 * np.abs(grad).max(), err_msg=name)

    bn1 = model.bn1
    np.testing.assert_allclose(bn1.running_mean.numpy(), arrays[f"{variant}.bn_after_forward.bn1.running_mean"],
                               rtol=1e-4, atol=1e-6)
    assert int(bn1.num_batches_tracked) == int(arrays[f"{variant}.bn_after_forward.bn1.num_batches_tracked"])

    optimizer.step()
    parameters = dict(model.named_parameters())
    for name in ("final_layers.0.bias", "final_layers.1.bias", "final_layers.1.weight", "deconv_layers.0.0.1.weight",
                 "bn1.weight"):
        expected = arrays[f"{variant}.param_after_adam.{name}"]
        np.testing.assert_allclose(parameters[name].detach().numpy(), expected, rtol=0, atol=2e-6, err_msg=name)
