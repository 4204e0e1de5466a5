"""Training losses (algorithm.md §5): heatmap MSE, associative-embedding (AE) tag loss, their per-stage combination.

Per stage s the network output `output_s` (B, J + T, R, R) holds J heatmaps then T tag maps (T = J with
MODEL.TAG_PER_JOINT, else 1; T = 0 for stages without AE loss). Targets per stage: heatmaps (B, J, R, R),
mask (B, R, R) and tag-index joints (B, P, J, 2) int with (flat tag index, flag); the flat index is
`k * R * R + y * R + x` (or `y * R + x` with one tag map) and a slot counts only if its flag is > 0.

All losses return one value per image (B,), like the official `MultiLossFactory`; `total_loss` reduces them
exactly like the official trainer. Everything stays on the device of the predictions.

Deliberate difference from the official code: `AELoss` is vectorised over persons and images (a gather plus
masked per-person sums) instead of Python loops over 30 persons x batch; it computes the same formulas
(equal to float32 rounding, see tests/test_losses.py). `HeatmapLoss` computes the official expression with one
temporary buffer instead of three (bit-identical values and gradients, about 6x faster on CPU).
"""
from collections.abc import Sequence

import torch
from torch import nn
from higherhrnet.errors import ConfigError

AE_LOSS_TYPES = ("exp", "max")


class HeatmapLoss(nn.Module):
    """Masked heatmap MSE per image (algorithm.md §5.1).

    forward(pred, gt, mask): pred, gt (B, J, R, R), mask (B, R, R) -> (B,) =
    mean over (J, R, R) of (pred - gt)^2 * mask. The denominator counts all J * R * R elements, masked or not.
    Reduced as `.mean(dim=3).mean(dim=2).mean(dim=1)` like the official code (same float32 rounding).
    """

    def forward(self, pred, gt, mask):
        if pred.shape != gt.shape:
            raise ValueError(f"heatmap prediction {tuple(pred.shape)} and target {tuple(gt.shape)} differ in shape")
        if mask.shape != (pred.shape[0],) + tuple(pred.shape[2:]):
            raise ValueError(f"mask {tuple(mask.shape)} must be (B, R, R) for heatmaps {tuple(pred.shape)}")
        if gt.requires_grad or mask.requires_grad:
            return official_heatmap_loss(pred, gt, mask)
        return _MaskedSquaredError.apply(pred, gt, mask)


def official_heatmap_loss(pred, gt, mask):
    """The official heatmap-loss expression through plain autograd (three map-sized temporaries).

    `HeatmapLoss` uses it only when gt or mask need gradients; the benchmark times it as the official loss.
    """
    return ((pred - gt) ** 2 * mask[:, None, :, :].expand_as(pred)).mean(dim=3).mean(dim=2).mean(dim=1)


class _MaskedSquaredError(torch.autograd.Function):
    """The heatmap loss with one temporary instead of three, bit-identical to the official expression.

    The official `((pred - gt) ** 2 * mask).mean(3).mean(2).mean(1)` allocates three map-sized temporaries
    and autograd keeps them; on CPU, fresh large buffers cost page faults, which make the loss several times
    slower than this (`python tools/benchmark.py --only train` times both). The same element operations run in the
    same order, in place on one buffer (`d * d` is what `d ** 2` computes), so values match bit for bit.
    backward rebuilds the difference and applies autograd's own chain: the three mean divisions, the mask,
    then `2 * d` (pow's derivative). Only `pred` gets a gradient (gt and mask are targets).
    """

    @staticmethod
    def forward(ctx, pred, gt, mask):
        ctx.save_for_backward(pred, gt, mask)
        squared = torch.sub(pred, gt)
        squared.mul_(squared)
        squared.mul_(mask[:, None, :, :])
        return squared.mean(dim=3).mean(dim=2).mean(dim=1)

    @staticmethod
    def backward(ctx, grad_loss):
        pred, gt, mask = ctx.saved_tensors
        num_joints, height, width = pred.shape[1:]
        # mean's backward divides the incoming gradient by the reduced size, once per mean.
        per_pixel = grad_loss.div(num_joints)[:, None].div(height)[:, :, None].div(width)  # (B, 1, 1)
        weight = per_pixel * mask  # (B, H, W), autograd's `grad * mask` before it is expanded over joints
        grad_pred = torch.sub(pred, gt)
        grad_pred.mul_(2).mul_(weight[:, None, :, :])
        return grad_pred, None, None


class AELoss(nn.Module):
    """Associative-embedding push / pull loss per image (algorithm.md §5.2), vectorised over persons and images.

    For image b, person row p, the tags t_{p,k} are read at the flat indices of the slots whose flag is > 0;
    rows without such a slot are skipped, K = number of remaining persons, h_p = mean_k t_{p,k}:
      pull = (1 / K) * sum_p mean_k (t_{p,k} - h_p)^2
      push = (sum_{p,q} f(h_p - h_q) - K) / (K (K - 1)) * 0.5   (all ordered pairs; the K diagonal terms are 1)
      f(d) = exp(-d^2) for loss_type 'exp', max(0, 1 - |d|) for 'max'.
    K = 0: push = pull = 0; K = 1: push = 0 (constants without gradient). An index used by two persons gives
    both the same value (and both gradients accumulate there).

    forward(tags, joints):
      tags: (B, N, 1) as the official MultiLossFactory passes it, or (B, T, R, R) / (B, N); flattened per
        image in channel-major order to N = T * R * R values.
      joints: (B, P, J, 2) integer tensor or array (flat index, flag), e.g. P = 30 (DATASET.MAX_NUM_PEOPLE).
    Returns push (B,), pull (B,) in the dtype and on the device of `tags`. An output is a constant (no
    autograd graph) when it is 0 for every image by the rules above, as in the official code.
    """

    def __init__(self, loss_type):
        super().__init__()
        if loss_type not in AE_LOSS_TYPES:
            raise ConfigError(f"unknown AE loss type {loss_type!r} (LOSS.AE_LOSS_TYPE); "
                              f"valid: {', '.join(AE_LOSS_TYPES)}")
        self.loss_type = loss_type

    def extra_repr(self):
        return f"loss_type={self.loss_type!r}"

    def forward(self, tags, joints):
        batch_size = tags.shape[0]
        tag_values = tags.reshape(batch_size, -1)  # (B, N)
        joints = torch.as_tensor(joints, device=tags.device)
        if joints.dim() != 4 or joints.shape[0] != batch_size or joints.shape[3] != 2:
            raise ValueError(f"joints {tuple(joints.shape)} must be (B, P, J, 2) with B = {batch_size}")
        _, num_persons, num_slots, _ = joints.shape

        visible = joints[..., 1] > 0  # (B, P, J)
        # Unflagged slots are never read by the official loop: point them at index 0 and zero them below.
        flat_index = torch.where(visible, joints[..., 0].long(), 0).reshape(batch_size, num_persons * num_slots)
        gathered = torch.gather(tag_values, 1, flat_index).reshape(batch_size, num_persons, num_slots)
        person_tags = torch.where(visible, gathered, torch.zeros((), dtype=tags.dtype, device=tags.device))

        slot_weight = visible.to(tags.dtype)
        slots_per_person = slot_weight.sum(dim=2)  # (B, P)
        person_used = slots_per_person > 0  # (B, P)
        num_used = person_used.sum(dim=1)  # (B,) = K

        # No early exit for K = 0 or K = 1 (it would need a host sync): the formulas below give 0 there.
        slot_count = slots_per_person.clamp(min=1)
        mean_tags = person_tags.sum(dim=2) / slot_count  # (B, P) = h_p, 0 for unused rows
        deviation = torch.where(visible, person_tags - mean_tags[:, :, None], 0.0)
        person_pull = (deviation ** 2).sum(dim=2) / slot_count  # (B, P), 0 for unused rows
        pull = person_pull.sum(dim=1) / num_used.clamp(min=1).to(tags.dtype)  # 0 where K = 0

        diff = mean_tags[:, :, None] - mean_tags[:, None, :]  # (B, P, P) = h_p - h_q
        if self.loss_type == "exp":
            pair_term = torch.exp(-diff ** 2)
        else:
            pair_term = torch.clamp(1 - torch.abs(diff), min=0)
        pair_used = person_used[:, :, None] & person_used[:, None, :]
        pair_sum = torch.where(pair_used, pair_term, 0.0).sum(dim=(1, 2))  # includes the K diagonal ones
        num_used_f = num_used.to(tags.dtype)
        num_pairs = (num_used_f * (num_used_f - 1)).clamp(min=1)
        push = torch.where(num_used > 1, (pair_sum - num_used_f) / num_pairs * 0.5, 0.0)
        return push, pull


class MultiLossFactory(nn.Module):
    """Per-stage heatmap and AE losses with their factors (algorithm.md §5.3); `from_config` reads cfg.LOSS.*.

    Arguments (one list entry per stage):
      num_joints: J, number of heatmap channels (MODEL.NUM_JOINTS).
      num_stages: number of network outputs that receive a loss (LOSS.NUM_STAGES).
      with_heatmaps_loss, heatmaps_loss_factor: heatmap loss switch and weight.
      with_ae_loss, push_loss_factor, pull_loss_factor: AE loss switch and push / pull weights.
      ae_loss_type: 'exp' or 'max' (LOSS.AE_LOSS_TYPE).
      tag_per_joint: MODEL.TAG_PER_JOINT; when given, forward checks that an AE stage has J (True) or 1
        (False) tag channels. None skips the check (the official code has none).

    forward(outputs, heatmaps, masks, joints), four lists with one entry per stage:
      outputs[s] (B, C_s, R_s, R_s), heatmaps[s] (B, J, R_s, R_s), masks[s] (B, R_s, R_s),
      joints[s] (B, P, J, 2). Entries a stage does not use are not read (may be None).
    The heatmaps are outputs[s][:, :J]; the tags outputs[s][:, J:] if the stage has a heatmap loss, else
    outputs[s][:, 0:] (official behaviour).
    Returns (heatmaps_losses, push_losses, pull_losses): lists of (B,) tensors, factors applied, None where
    that loss is off.
    """

    def __init__(self, num_joints, num_stages, with_heatmaps_loss, heatmaps_loss_factor, with_ae_loss,
                 push_loss_factor, pull_loss_factor, ae_loss_type, tag_per_joint=None):
        super().__init__()
        per_stage = {"with_heatmaps_loss": with_heatmaps_loss, "heatmaps_loss_factor": heatmaps_loss_factor,
                     "with_ae_loss": with_ae_loss, "push_loss_factor": push_loss_factor,
                     "pull_loss_factor": pull_loss_factor}
        for name, values in per_stage.items():
            if not isinstance(values, (list, tuple)):
                raise ConfigError(f"{name} must be a list or tuple (one entry per stage), got {type(values).__name__}")
            if len(values) != num_stages:
                raise ConfigError(f"{name} has {len(values)} entries, expected num_stages = {num_stages}")
        self.num_joints = int(num_joints)
        self.num_stages = int(num_stages)
        self.with_heatmaps_loss = [bool(on) for on in with_heatmaps_loss]
        self.heatmaps_loss_factor = [float(factor) for factor in heatmaps_loss_factor]
        self.with_ae_loss = [bool(on) for on in with_ae_loss]
        self.push_loss_factor = [float(factor) for factor in push_loss_factor]
        self.pull_loss_factor = [float(factor) for factor in pull_loss_factor]
        self.tag_per_joint = tag_per_joint
        # Both losses are stateless: one instance serves every stage.
        self.heatmaps_loss = HeatmapLoss()
        self.ae_loss = AELoss(ae_loss_type)

    @classmethod
    def from_config(cls, cfg):
        """Build from a config with the official keys: cfg.LOSS.*, cfg.MODEL.NUM_JOINTS, MODEL.TAG_PER_JOINT."""
        return cls(num_joints=cfg.MODEL.NUM_JOINTS,
                   num_stages=cfg.LOSS.NUM_STAGES,
                   with_heatmaps_loss=cfg.LOSS.WITH_HEATMAPS_LOSS,
                   heatmaps_loss_factor=cfg.LOSS.HEATMAPS_LOSS_FACTOR,
                   with_ae_loss=cfg.LOSS.WITH_AE_LOSS,
                   push_loss_factor=cfg.LOSS.PUSH_LOSS_FACTOR,
                   pull_loss_factor=cfg.LOSS.PULL_LOSS_FACTOR,
                   ae_loss_type=cfg.LOSS.AE_LOSS_TYPE,
                   tag_per_joint=cfg.MODEL.TAG_PER_JOINT)

    def extra_repr(self):
        return (f"num_joints={self.num_joints}, num_stages={self.num_stages}, "
                f"with_heatmaps_loss={self.with_heatmaps_loss}, with_ae_loss={self.with_ae_loss}, "
                f"ae_loss_type={self.ae_loss.loss_type!r}")

    def forward(self, outputs, heatmaps, masks, joints):
        for name, values in (("outputs", outputs), ("heatmaps", heatmaps), ("masks", masks), ("joints", joints)):
            if not isinstance(values, (list, tuple)) or len(values) != self.num_stages:
                got = f"{len(values)} entries" if isinstance(values, (list, tuple)) else type(values).__name__
                raise ConfigError(f"{name} must be a list with num_stages = {self.num_stages} entries, got {got}")

        heatmaps_losses, push_losses, pull_losses = [], [], []
        for stage in range(self.num_stages):
            output = outputs[stage]
            tag_offset = 0
            if self.with_heatmaps_loss[stage]:
                heatmaps_pred = output[:, :self.num_joints]
                tag_offset = self.num_joints
                heatmaps_loss = self.heatmaps_loss(heatmaps_pred, heatmaps[stage], masks[stage])
                heatmaps_losses.append(heatmaps_loss * self.heatmaps_loss_factor[stage])
            else:
                heatmaps_losses.append(None)

            if self.with_ae_loss[stage]:
                tags_pred = output[:, tag_offset:]
                self._check_tag_channels(stage, tags_pred.shape[1])
                push_loss, pull_loss = self.ae_loss(tags_pred, joints[stage])
                push_losses.append(push_loss * self.push_loss_factor[stage])
                pull_losses.append(pull_loss * self.pull_loss_factor[stage])
            else:
                push_losses.append(None)
                pull_losses.append(None)
        return heatmaps_losses, push_losses, pull_losses

    def _check_tag_channels(self, stage, num_tag_channels):
        if self.tag_per_joint is None:
            return
        expected = self.num_joints if self.tag_per_joint else 1
        if num_tag_channels != expected:
            raise ConfigError(f"stage {stage}: {num_tag_channels} tag channels after the heatmaps, expected "
                              f"{expected} (num_joints = {self.num_joints}, tag_per_joint = {self.tag_per_joint})")


def total_loss(heatmaps_losses, push_losses, pull_losses):
    """Combine the per-stage (B,) losses exactly like the official trainer (algorithm.md §5.4).

    loss = 0 + sum over stages s in order of mean_b(heatmaps_s) + mean_b(push_s) + mean_b(pull_s), each term a
    batch mean added in this order (float32 parity). Entries may be None (loss off).
    Official quirk: push / pull of a stage are added only when that stage has a heatmap loss, so an AE loss
    without heatmap loss was silently dropped; here that case raises ValueError instead.

    Returns (loss, components): loss a 0-dim tensor with autograd graph; components a dict of detached 0-dim
    tensors on the loss's device (read them when logging: no host sync per term), keys 'stage{s}_heatmaps',
    'stage{s}_push', 'stage{s}_pull' for the terms that are on.
    """
    if not len(heatmaps_losses) == len(push_losses) == len(pull_losses):
        raise ValueError(f"loss lists differ in length: heatmaps {len(heatmaps_losses)}, push {len(push_losses)}, "
                         f"pull {len(pull_losses)}")
    loss = 0
    components = {}
    for stage, (heatmaps_loss, push_loss, pull_loss) in enumerate(zip(heatmaps_losses, push_losses, pull_losses)):
        if heatmaps_loss is None:
            if push_loss is not None or pull_loss is not None:
                raise ConfigError(f"stage {stage} has an AE loss but no heatmap loss: the official trainer would "
                                  f"silently drop it; enable the heatmap loss of that stage")
            continue
        for name, per_image in (("heatmaps", heatmaps_loss), ("push", push_loss), ("pull", pull_loss)):
            if per_image is None:
                continue
            batch_mean = per_image.mean(dim=0)
            components[f"stage{stage}_{name}"] = batch_mean.detach()
            loss = loss + batch_mean
    if not components:
        raise ConfigError("no loss term is on: every stage has heatmaps_loss None")
    return loss, components
