"""The training losses written as the official code computes them: the tests' reference, the benchmark's baseline.

`losses.official_heatmap_loss` is the official expression through plain autograd; `reference_ae_loss`
loops over images and person rows and reads tags one by one, as the official AELoss does.
`reference_loss_factory` is a MultiLossFactory whose two losses are these. tests/test_losses.py checks that
the package's own losses (losses.py) give the same values; tools/benchmark.py times both.
"""
import numpy as np
import torch
from torch import nn

from higherhrnet.losses import MultiLossFactory, official_heatmap_loss


def reference_ae_loss(tags, joints, loss_type):
    """The AE loss as the official code computes it: loops over images and the person rows.

    tags: (B, ...) float, flattened per image in channel-major order; joints (B, P, J, 2) int array.
    Returns push (B,), pull (B,); for K < 2 (K = 0) the push (and pull) are constant zeros.
    """
    joints = np.asarray(joints)
    batch_size = tags.shape[0]
    flat_tags = tags.reshape(batch_size, -1)
    pushes, pulls = [], []
    for image in range(batch_size):
        person_means = []
        pull = 0
        for person in joints[image]:
            values = [flat_tags[image, index] for index, flag in person if flag > 0]
            if not values:
                continue
            values = torch.stack(values)
            person_means.append(values.mean())
            pull = pull + ((values - person_means[-1]) ** 2).mean()
        num_persons = len(person_means)
        zero = torch.zeros((), dtype=tags.dtype)
        if num_persons == 0:
            pushes.append(zero)
            pulls.append(zero)
            continue
        if num_persons == 1:
            pushes.append(zero)
            pulls.append(pull / num_persons)
            continue
        means = torch.stack(person_means)
        diff = means[:, None] - means[None, :]
        if loss_type == "exp":
            push = torch.exp(-diff ** 2).sum() - num_persons
        else:
            push = torch.clamp(1 - torch.abs(diff), min=0).sum() - num_persons
        pushes.append(push / ((num_persons - 1) * num_persons) * 0.5)
        pulls.append(pull / num_persons)
    return torch.stack(pushes), torch.stack(pulls)


class _ReferenceHeatmapLoss(nn.Module):
    def forward(self, pred, gt, mask):
        return official_heatmap_loss(pred, gt, mask)


class _ReferenceAELoss(nn.Module):
    def __init__(self, loss_type):
        super().__init__()
        self.loss_type = loss_type

    def forward(self, tags, joints):
        return reference_ae_loss(tags, torch.as_tensor(joints).cpu().numpy(), self.loss_type)


def reference_loss_factory(cfg):
    """MultiLossFactory.from_config(cfg) with the official-style heatmap and AE losses swapped in."""
    factory = MultiLossFactory.from_config(cfg)
    factory.heatmaps_loss = _ReferenceHeatmapLoss()
    factory.ae_loss = _ReferenceAELoss(cfg.LOSS.AE_LOSS_TYPE)
    return factory
