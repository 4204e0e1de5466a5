"""The benchmark's official-style training step is a faithful baseline: same loss and same update as the package.

benchmarks/training.py times the package's step (engine.training.train_one_epoch) against the official loop
(official-style losses of tests/loss_reference.py, per-stage batch means summed, zero_grad, backward, step).
A speed ratio of the two means something only if both compute the same step; checked on the W16-192 demo
network and two COCO-sample training batches of 2.
"""
import copy

import pytest
import torch

from benchmarks.training import _cycle, official_style_step, training_config
from higherhrnet.data.build import build_train_dataset, build_train_loader
from higherhrnet.data.compact_batch import batch_on_device
from higherhrnet.engine.training import MixedPrecision, build_optimizer, train_one_epoch
from higherhrnet.losses import MultiLossFactory, total_loss
from higherhrnet.models import build_model
from tests.loss_reference import reference_loss_factory


@pytest.fixture(scope="module")
def setting(shared, repo):
    cfg = training_config(str(repo / "experiments" / "synthetic" / "higher_hrnet" / "w16_192_demo.yaml"),
                          ["MODEL.INIT_WEIGHTS", False], str(shared / "data" / "coco_sample"), 2)
    loader = build_train_loader(cfg, build_train_dataset(cfg), rank=0, world_size=1, compact=True)
    return cfg, list(_cycle(loader, 2))


def test_official_style_step_takes_the_package_steps_gradients(setting):
    """One step each from the same weights on the same batch: the same loss and the same gradients.

    (Weights after Adam are not compared: Adam turns float noise in near-zero gradients into steps of the
    learning rate's size.)
    """
    cfg, batches = setting
    torch.manual_seed(0)
    official_model = build_model(cfg, is_train=True)
    package_model = copy.deepcopy(official_model)
    official_model.train()
    official_loss = official_style_step(official_model, build_optimizer(cfg, official_model),
                                        reference_loss_factory(cfg), batch_on_device(batches[0], torch.device("cpu")))
    _, averages = train_one_epoch(package_model, batches[:1], MultiLossFactory.from_config(cfg),
                                  build_optimizer(cfg, package_model), MixedPrecision(False, torch.device("cpu")), 0,
                                  torch.device("cpu"), show_progress=False, print_freq=1)
    assert official_loss.item() > 0
    assert sum(averages.values()) == pytest.approx(official_loss.item(), rel=1e-6)  # the terms of the total
    official_grads = dict(official_model.named_parameters())
    for name, parameter in package_model.named_parameters():
        official = official_grads[name].grad
        assert parameter.grad is not None and official is not None, name
        scale = float(official.abs().max())
        torch.testing.assert_close(parameter.grad, official, rtol=1e-4, atol=1e-5 * scale + 1e-12, msg=name)


def test_official_style_loss_total_equals_the_package_total(setting):
    cfg, batches = setting
    torch.manual_seed(1)
    model = build_model(cfg, is_train=True)
    images, heatmaps, masks, joints = batch_on_device(batches[0], torch.device("cpu"))
    outputs = model(images)
    official = total_loss(*reference_loss_factory(cfg)(outputs, heatmaps, masks, joints))[0]
    package = total_loss(*MultiLossFactory.from_config(cfg)(outputs, heatmaps, masks, joints))[0]
    torch.testing.assert_close(package, official, rtol=1e-6, atol=0.0)
