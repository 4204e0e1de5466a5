"""One training epoch, the optimizer / scheduler / mixed-precision builders (SPEC 8.3, 8.5, 8.6).

`train_one_epoch` is a plain loop a reader can follow: data -> forward (under autocast when enabled) ->
per-stage losses -> backward (through the GradScaler when one is used) -> step, with the official
per-iteration log line every PRINT_FREQ iterations, TensorBoard scalars every iteration and debug pictures.
"""
import time
from contextlib import nullcontext

import torch
from tqdm import tqdm

from ..data.compact_batch import batch_on_device
from ..losses import total_loss


class AverageMeter:
    """Current value and running average of a scalar."""

    def __init__(self):
        self.val = self.sum = self.avg = 0.0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count if self.count else 0.0


def build_optimizer(cfg, model):
    """Adam or SGD as official. Official Adam ignores TRAIN.WD (weight decay 0); TRAIN.ADAM_USE_WD True uses it."""
    name = cfg.TRAIN.OPTIMIZER
    if name == "adam":
        weight_decay = cfg.TRAIN.WD if cfg.TRAIN.ADAM_USE_WD else 0.0
        return torch.optim.Adam(model.parameters(), lr=cfg.TRAIN.LR, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.TRAIN.LR, momentum=cfg.TRAIN.MOMENTUM,
                               weight_decay=cfg.TRAIN.WD, nesterov=cfg.TRAIN.NESTEROV)
    raise ValueError(f"TRAIN.OPTIMIZER {name!r} is not supported; expected 'adam' or 'sgd'")


def build_lr_scheduler(cfg, optimizer):
    """MultiStepLR over epochs (milestones TRAIN.LR_STEP, gamma TRAIN.LR_FACTOR); its state is checkpointed."""
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(cfg.TRAIN.LR_STEP),
                                                gamma=cfg.TRAIN.LR_FACTOR)


class MixedPrecision:
    """FP16.* mapped onto torch.amp (SPEC 8.6, M1).

    FP16.ENABLED False: plain fp32. On CUDA: float16 autocast and a GradScaler; DYNAMIC_LOSS_SCALE True
    mimics the official dynamic scaler (initial scale 2^32, x2 every 1000 clean steps, /2 on overflow),
    False keeps the constant STATIC_LOSS_SCALE (steps with inf/NaN gradients are still skipped). On CPU:
    bfloat16 autocast, which needs no loss scaling.
    """

    def __init__(self, enabled, device, dynamic_loss_scale=False, static_loss_scale=1.0):
        self.enabled = bool(enabled)
        self.device_type = device.type
        self.dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
        self.scaler = None
        if self.enabled and device.type == "cuda":
            if dynamic_loss_scale:
                self.scaler = torch.amp.GradScaler("cuda", init_scale=2.0 ** 32, growth_factor=2.0,
                                                   backoff_factor=0.5, growth_interval=1000)
            else:
                self.scaler = torch.amp.GradScaler("cuda", init_scale=float(static_loss_scale), growth_factor=1.0,
                                                   backoff_factor=1.0, growth_interval=2 ** 31 - 1)

    @classmethod
    def from_config(cls, cfg, device):
        return cls(cfg.FP16.ENABLED, device, cfg.FP16.DYNAMIC_LOSS_SCALE, cfg.FP16.STATIC_LOSS_SCALE)

    def autocast(self):
        if not self.enabled:
            return nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def backward_and_step(self, loss, optimizer):
        optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(optimizer)
            self.scaler.update()


def format_log_line(epoch, iteration, num_iterations, batch_time, data_time, batch_size, meters):
    """The official per-iteration line: times, samples/s, then `Stage{k}-{name}: val (avg)` per loss."""
    speed = batch_size / batch_time.val if batch_time.val > 0 else 0.0
    parts = [f"Epoch: [{epoch}][{iteration}/{num_iterations}]",
             f"Time: {batch_time.val:.3f}s ({batch_time.avg:.3f}s)",
             f"Speed: {speed:.1f} samples/s",
             f"Data: {data_time.val:.3f}s ({data_time.avg:.3f}s)"]
    for name in ("heatmaps", "push", "pull"):
        for key, meter in meters.items():
            stage, loss_name = key.split("_")
            if loss_name == name:
                parts.append(f"{stage.capitalize()}-{name}: {meter.val:.3e} ({meter.avg:.3e})")
    return "\t".join(parts)


def train_one_epoch(model, loader, loss_fn, optimizer, precision, epoch, device, *, logger=None, writer=None,
                    print_freq=100, global_step=0, debug_hook=None, show_progress=True, max_iterations=None):
    """Train `model` for one pass over `loader`. Returns (global_step after the epoch, dict of average losses).

    loader yields (images (B,3,S,S), heatmaps [(B,J,R_s,R_s)], masks [(B,R_s,R_s)], joints [(B,P,J,2)]) or
    data.compact_batch.CompactBatch (expanded on the device; the expansion counts as data time).
    writer: TensorBoard SummaryWriter or None (rank 0 only). Tags: train/loss, train/lr and
    train/stage{k}/{heatmaps,push,pull}_loss, one point per iteration (the official tags were broken, B4).
    debug_hook(iteration, images, targets, outputs): called every print_freq iterations (debug pictures).
    max_iterations: stop the epoch early (for smoke tests and benchmarks).
    """
    model.train()
    batch_time, data_time = AverageMeter(), AverageMeter()
    meters = {}
    num_iterations = len(loader) if max_iterations is None else min(len(loader), max_iterations)
    progress = tqdm(total=num_iterations, desc=f"epoch {epoch}", leave=False, dynamic_ncols=True,
                    disable=not show_progress)
    end = time.perf_counter()
    for iteration, batch in enumerate(loader):
        if iteration >= num_iterations:
            break
        images, heatmaps, masks, joints = batch_on_device(batch, device)
        data_time.update(time.perf_counter() - end)

        with precision.autocast():
            outputs = model(images)
        outputs = [output.float() for output in outputs]
        heatmaps_losses, push_losses, pull_losses = loss_fn(outputs, heatmaps, masks, joints)
        loss, components = total_loss(heatmaps_losses, push_losses, pull_losses)
        precision.backward_and_step(loss, optimizer)

        batch_size = images.shape[0]
        for key, value in components.items():
            meters.setdefault(key, AverageMeter()).update(value, batch_size)
        batch_time.update(time.perf_counter() - end)

        if writer is not None:
            writer.add_scalar("train/loss", loss.item(), global_step)
            writer.add_scalar("train/lr", optimizer.param_groups[0]["lr"], global_step)
            for key, value in components.items():
                stage, name = key.split("_")
                writer.add_scalar(f"train/{stage}/{name}_loss", value, global_step)
        if iteration % print_freq == 0:
            if logger is not None:
                logger.info(format_log_line(epoch, iteration, num_iterations, batch_time, data_time,
                                            batch_size, meters))
            if debug_hook is not None:
                debug_hook(iteration, images, (heatmaps, masks, joints), outputs)
        progress.set_postfix(loss=f"{loss.item():.3e}", refresh=False)
        progress.update(1)
        global_step += 1
        end = time.perf_counter()
    progress.close()
    return global_step, {key: meter.avg for key, meter in meters.items()}
