"""Training: the driver behind tools/dist_train.py and the loop of one epoch.

`run_training` reads top to bottom as the official main_worker with the modern pieces: one `setup`
(torchrun / env:// process groups, the process's own GPU, logger, cudnn, seed), torch.amp instead of the
fp16 wrapper, rank-0-only side effects, `set_epoch` called, periodic validation on every rank, atomic
checkpoints with scheduler, scaler and RNG states for an exact AUTO_RESUME, an optional time budget
(tools/dist_train.py --time-budget) and a few prediction pictures per validation for TensorBoard.

`train_one_epoch` is a plain loop: data -> forward (under autocast when enabled) -> per-stage losses ->
backward (loss scaling when used) -> step. Loss values stay on the device; they reach the host once per
PRINT_FREQ iterations (the official log line, TensorBoard scalars of every iteration, the progress bar)
and at the end of the epoch, so a CUDA step never waits for the host.
"""
import json
import time
from contextlib import nullcontext

import torch
from tqdm import tqdm

from ..data.build import build_train_dataset, build_train_loader
from ..data.compact_batch import batch_on_device
from ..data.worker_memory import keep_freed_memory
from ..errors import ConfigError
from ..losses import MultiLossFactory, total_loss
from ..models import build_model
from ..visualize import save_batch_maps
from . import checkpoint as ckpt
from .distributed import (all_gather_objects, barrier, broadcast_buffers, broadcast_object, cleanup_distributed,
                          is_distributed)
from .evaluation import evaluate_model
from .metrics_log import RunMetrics
from .numerics import TrainingGuard
from .run_lock import RunLockError, acquire_run_lock, remove_unfinished_writes
from .setup import setup
from .validation_pictures import ValidationPictures


# ---------------------------------------------------------------------------------------------------------
# builders

def build_optimizer(cfg, model):
    """Adam or SGD as official. Official Adam ignores TRAIN.WD (weight decay 0); TRAIN.ADAM_USE_WD True uses it."""
    name = cfg.TRAIN.OPTIMIZER
    if name == "adam":
        weight_decay = cfg.TRAIN.WD if cfg.TRAIN.ADAM_USE_WD else 0.0
        return torch.optim.Adam(model.parameters(), lr=cfg.TRAIN.LR, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.TRAIN.LR, momentum=cfg.TRAIN.MOMENTUM,
                               weight_decay=cfg.TRAIN.WD, nesterov=cfg.TRAIN.NESTEROV)
    raise ConfigError(f"TRAIN.OPTIMIZER {name!r} is not supported; expected 'adam' or 'sgd'")


def build_lr_scheduler(cfg, optimizer):
    """MultiStepLR over epochs (milestones TRAIN.LR_STEP, gamma TRAIN.LR_FACTOR); its state is checkpointed."""
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(cfg.TRAIN.LR_STEP),
                                                gamma=cfg.TRAIN.LR_FACTOR)


class MixedPrecision:
    """FP16.* mapped onto torch.amp.

    FP16.ENABLED False: plain fp32. On CUDA: float16 autocast and a loss scale.
    - FP16.DYNAMIC_LOSS_SCALE True: a GradScaler mimicking the official dynamic scaler (initial scale 2^32,
      x2 every 1000 clean steps, /2 on overflow, where the step is skipped).
    - False: the constant FP16.STATIC_LOSS_SCALE, as the official static scaler: the loss is multiplied by
      it, the gradients divided by it before the step, and overflows are not checked (no step is skipped).
    On CPU: bfloat16 autocast, which needs no loss scaling.
    `scaling` may force 'none', 'static' or 'dynamic' (tests exercise the CUDA arithmetic on CPU this way).
    """

    def __init__(self, enabled, device, dynamic_loss_scale=False, static_loss_scale=1.0, scaling=None):
        self.enabled = bool(enabled)
        self.device_type = device.type
        self.dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
        if scaling is None:
            scaling = "none" if not (self.enabled and device.type == "cuda") else (
                "dynamic" if dynamic_loss_scale else "static")
        if scaling not in ("none", "static", "dynamic"):
            raise ValueError(f"loss scaling {scaling!r}: expected 'none', 'static' or 'dynamic'")
        self.scaling = scaling
        self.static_scale = float(static_loss_scale)
        self.scaler = None
        if scaling == "dynamic":
            self.scaler = torch.amp.GradScaler(device.type, init_scale=2.0 ** 32, growth_factor=2.0,
                                               backoff_factor=0.5, growth_interval=1000)

    @classmethod
    def from_config(cls, cfg, device):
        return cls(cfg.FP16.ENABLED, device, cfg.FP16.DYNAMIC_LOSS_SCALE, cfg.FP16.STATIC_LOSS_SCALE)

    def autocast(self):
        if not self.enabled:
            return nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def backward_and_step(self, loss, optimizer):
        optimizer.zero_grad(set_to_none=True)
        if self.scaling == "dynamic":
            self.scaler.scale(loss).backward()
            self.scaler.step(optimizer)
            self.scaler.update()
            return
        if self.scaling == "static" and self.static_scale != 1.0:
            (loss * self.static_scale).backward()
            grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
            torch._foreach_mul_(grads, 1.0 / self.static_scale)
        else:
            loss.backward()
        optimizer.step()


# ---------------------------------------------------------------------------------------------------------
# one epoch

class LossMeters:
    """Running sums of the loss terms, kept on their device; `averages()` / `latest()` read them once.

    Per-iteration values are buffered too (for TensorBoard's per-iteration points) until `drain()`.
    """

    def __init__(self):
        self.sums, self.count, self.pending, self.last = {}, 0, [], {}

    def update(self, components, loss, lr, step, batch_size):
        """components: {name: 0-dim tensor}; loss: the total; lr: float; step: global iteration."""
        for key, value in components.items():
            exact = value.detach().double() if value.device.type != "mps" else value.detach()  # MPS has no float64
            self.sums[key] = self.sums.get(key, 0) + exact * batch_size
        self.count += batch_size
        self.last = {key: value.detach() for key, value in components.items()}
        self.pending.append((step, lr, loss.detach(), self.last))

    def averages(self):
        keys = list(self.sums)
        if not keys:
            return {}
        values = torch.stack([self.sums[key].float() for key in keys]).cpu().tolist()
        return {key: value / self.count for key, value in zip(keys, values)}

    def latest(self):
        keys = list(self.last)
        return dict(zip(keys, torch.stack([self.last[key].float() for key in keys]).cpu().tolist())) if keys else {}

    def drain(self):
        """[(step, lr, loss, {name: value})] as floats since the last drain (one device-to-host copy)."""
        if not self.pending:
            return []
        keys = list(self.pending[0][3])
        rows = torch.stack([torch.stack([loss.float()] + [terms[key].float() for key in keys])
                            for _, _, loss, terms in self.pending]).cpu().tolist()
        drained = [(step, lr, row[0], dict(zip(keys, row[1:])))
                   for (step, lr, _, _), row in zip(self.pending, rows)]
        self.pending = []
        return drained


class _Timing:
    """Current and average seconds of the iterations and of their data loading."""

    def __init__(self):
        self.batch = self.data = self.batch_sum = self.data_sum = 0.0
        self.count = 0

    def update(self, data_seconds, batch_seconds):
        self.data, self.batch = data_seconds, batch_seconds
        self.data_sum += data_seconds
        self.batch_sum += batch_seconds
        self.count += 1


def format_log_line(epoch, iteration, num_iterations, timing, batch_size, latest, averages):
    """The official per-iteration line: times, samples/s, then `Stage{k}-{name}: val (avg)` per loss."""
    speed = batch_size / timing.batch if timing.batch > 0 else 0.0
    parts = [f"Epoch: [{epoch}][{iteration}/{num_iterations}]",
             f"Time: {timing.batch:.3f}s ({timing.batch_sum / max(timing.count, 1):.3f}s)",
             f"Speed: {speed:.1f} samples/s",
             f"Data: {timing.data:.3f}s ({timing.data_sum / max(timing.count, 1):.3f}s)"]
    for name in ("heatmaps", "push", "pull"):
        for key, value in latest.items():
            stage, loss_name = key.split("_")
            if loss_name == name:
                parts.append(f"{stage.capitalize()}-{name}: {value:.3e} ({averages[key]:.3e})")
    return "\t".join(parts)


class TimeBudget:
    """Stops training once `seconds` of wall time have passed since `start` (time.monotonic()), on every rank
    at the same iteration.

    `spent()` is asked at the end of every iteration. Rank 0's clock decides; in a process group rank 0
    broadcasts its answer (one 1-element collective per iteration), so no rank trains a step the others skip;
    on CUDA that read of the answer is one host sync per iteration, paid only when a budget is set.
    After a True answer `stopped` is True.
    """

    def __init__(self, seconds, device, start=None):
        if not seconds > 0:
            raise ValueError(f"time budget {seconds!r}: expected a positive number of seconds")
        self.seconds, self.device = float(seconds), device
        self.start = time.monotonic() if start is None else start
        self.stopped = False

    def spent(self):
        over = time.monotonic() - self.start >= self.seconds
        if is_distributed():
            flag = torch.tensor([int(over)], dtype=torch.int32, device=self.device)
            torch.distributed.broadcast(flag, src=0)
            over = bool(flag.item())
        self.stopped = self.stopped or over
        return over


def _write_scalars(writer, rows):
    for step, lr, loss, terms in rows:
        writer.add_scalar("train/loss", loss, step)
        writer.add_scalar("train/lr", lr, step)
        for key, value in terms.items():
            stage, name = key.split("_")
            writer.add_scalar(f"train/{stage}/{name}_loss", value, step)


def train_one_epoch(model, loader, loss_fn, optimizer, precision, epoch, device, *, logger=None, writer=None,
                    print_freq=100, global_step=0, debug_hook=None, show_progress=True, max_iterations=None,
                    guard=None, time_budget=None):
    """Train `model` for one pass over `loader`. Returns (global_step after the epoch, dict of average losses).

    loader yields (images (B,3,S,S), heatmaps [(B,J,R_s,R_s)], masks [(B,R_s,R_s)], joints [(B,P,J,2)]) or
    data.compact_batch.CompactBatch (expanded on the device; the expansion counts as data time).
    writer: TensorBoard SummaryWriter or None (rank 0 only). Tags: train/loss, train/lr and
    train/stage{k}/{heatmaps,push,pull}_loss, one point per iteration (the official tags were broken),
    written every print_freq iterations and at the end of the epoch.
    debug_hook(iteration, images, targets, outputs): called every print_freq iterations (debug pictures).
    max_iterations: stop the epoch early (for smoke tests and benchmarks).
    guard: engine.numerics.TrainingGuard or None; it sees every iteration's losses when they reach the host
    (every print_freq iterations and at the last one) and stops a diverged run.
    time_budget: a `TimeBudget` or None; when it is spent the epoch ends after that iteration (which is then
    treated as the last one) and `time_budget.stopped` tells the caller.
    """
    model.train()
    timing, meters = _Timing(), LossMeters()
    num_iterations = len(loader) if max_iterations is None else min(len(loader), max_iterations)
    progress = tqdm(total=num_iterations, desc=f"epoch {epoch}", leave=False, dynamic_ncols=True,
                    disable=not show_progress)
    end = time.perf_counter()
    epoch_first_step = global_step
    for iteration, batch in enumerate(loader):
        if iteration >= num_iterations:
            break
        images, heatmaps, masks, joints = batch_on_device(batch, device)
        data_seconds = time.perf_counter() - end

        with precision.autocast():
            outputs = model(images)
        outputs = [output.float() for output in outputs]
        heatmaps_losses, push_losses, pull_losses = loss_fn(outputs, heatmaps, masks, joints)
        loss, components = total_loss(heatmaps_losses, push_losses, pull_losses)
        precision.backward_and_step(loss, optimizer)

        batch_size = images.shape[0]
        meters.update(components, loss, optimizer.param_groups[0]["lr"], global_step, batch_size)
        timing.update(data_seconds, time.perf_counter() - end)
        last = iteration == num_iterations - 1 or (time_budget is not None and time_budget.spent())

        if iteration % print_freq == 0 or last:
            rows = meters.drain()
            if guard is not None:
                guard.check_losses(rows, epoch, epoch_first_step)
            if writer is not None:
                _write_scalars(writer, rows)
            if iteration % print_freq == 0:
                if logger is not None:
                    logger.info(format_log_line(epoch, iteration, num_iterations, timing, batch_size,
                                                meters.latest(), meters.averages()))
                if debug_hook is not None:
                    debug_hook(iteration, images, (heatmaps, masks, joints), outputs)
            progress.set_postfix(loss=f"{rows[-1][2]:.3e}", refresh=False)
        progress.update(1)
        global_step += 1
        end = time.perf_counter()
        if last:
            break
    progress.close()
    return global_step, meters.averages()


# ---------------------------------------------------------------------------------------------------------
# the driver

def _unwrap(model):
    return model.module if hasattr(model, "module") else model


def wrap_for_training(model, sync_bn, device, distributed, logger):
    """Move to `device`; under DDP convert BatchNorm to SyncBatchNorm when asked and wrap in DDP.

    SyncBatchNorm runs on CUDA only in PyTorch, so MODEL.SYNC_BN is ignored (with a warning) on CPU, as it
    is (officially) when training is not distributed.
    """
    if sync_bn:
        if not distributed:
            logger.warning("MODEL.SYNC_BN True is ignored: training is not distributed")
        elif device.type != "cuda":
            logger.warning("MODEL.SYNC_BN True is ignored: SyncBatchNorm needs CUDA devices")
        else:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device)
    if distributed:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    return model


def _make_debug_hook(cfg, final_output_dir):
    """Training debug pictures every PRINT_FREQ iterations (DEBUG.*), rank 0 only."""
    if not cfg.DEBUG.DEBUG:
        return None
    num_joints = cfg.MODEL.NUM_JOINTS

    def hook(iteration, images, targets, outputs):
        heatmaps, masks, _ = targets
        for stage, output in enumerate(outputs):
            prefix = final_output_dir / f"train_{iteration}_output_{cfg.DATASET.OUTPUT_SIZE[stage]}"
            images_np = images.detach().float().cpu().numpy()
            mask_np = masks[stage].detach().cpu().numpy()
            if cfg.DEBUG.SAVE_HEATMAPS_GT:
                save_batch_maps(f"{prefix}_hm_gt.jpg", images_np, heatmaps[stage].cpu().numpy(), mask_np,
                                map_type="heatmap")
            if cfg.DEBUG.SAVE_HEATMAPS_PRED:
                save_batch_maps(f"{prefix}_hm_pred.jpg", images_np,
                                output[:, :num_joints].detach().cpu().numpy(), mask_np, map_type="heatmap")
            if cfg.DEBUG.SAVE_TAGMAPS_PRED and output.shape[1] > num_joints:
                save_batch_maps(f"{prefix}_tag_pred.jpg", images_np,
                                output[:, num_joints:].detach().cpu().numpy(), mask_np, map_type="tagmap")
    return hook


def _lock_output_folder(final_output_dir, main, logger):
    """Rank 0 locks the run folder (engine/run_lock.py) and clears a killed run's unfinished writes.

    Every rank learns the outcome, so a refused run stops on all ranks. Returns the RunLock (None elsewhere).
    """
    lock, refusal = None, None
    if main:
        try:
            lock = acquire_run_lock(final_output_dir)
        except RunLockError as error:
            refusal = str(error)
    refusal = broadcast_object(refusal)
    if refusal is not None:
        raise RunLockError(refusal)
    if main:
        remove_unfinished_writes(lock, logger)
    return lock


def run_training(args):
    """Train with the config of `args.cfg` + `args.opts`; works alone, under torchrun or under mp.spawn."""
    budget_seconds = getattr(args, "time_budget", None)  # --time-budget: counted from here (set-up included)
    run_start = time.monotonic()
    run = setup(args.cfg, args.opts, phase="train", args=args)
    cfg, place, logger, final_output_dir = run.cfg, run.place, run.logger, run.final_output_dir
    device, main = place.device, place.is_main
    seed = cfg.TRAIN.SEED

    model = wrap_for_training(build_model(cfg, is_train=True), cfg.MODEL.SYNC_BN, device, is_distributed(), logger)
    loss_fn = MultiLossFactory.from_config(cfg).to(device)

    dataset = build_train_dataset(cfg)
    if cfg.WORKERS == 0:  # samples are made in this process: as in a worker (seed_worker), reuse freed memory
        keep_freed_memory()
    loader = build_train_loader(cfg, dataset, rank=place.rank, world_size=place.world_size,
                                seed=seed if seed >= 0 else 0, compact=True)
    dataset.limit_unreadable(cfg.DATASET.MAX_UNREADABLE_FRACTION, len(loader.sampler))  # skips, then stops
    optimizer = build_optimizer(cfg, model)
    lr_scheduler = build_lr_scheduler(cfg, optimizer)
    precision = MixedPrecision.from_config(cfg, device)

    begin_epoch, global_step = cfg.TRAIN.BEGIN_EPOCH, 0
    checkpoint_file = final_output_dir / ckpt.CHECKPOINT_NAME
    run_lock = _lock_output_folder(final_output_dir, main, logger)
    guard = TrainingGuard.from_config(cfg, precision, final_output_dir)
    checkpoint = ckpt.read_for_resume(checkpoint_file, cfg.AUTO_RESUME)
    if checkpoint is not None:
        begin_epoch, global_step = ckpt.resume_into(checkpoint, _unwrap(model), optimizer, lr_scheduler,
                                                    precision.scaler, place, logger)
        logger.info(f"=> resumed from {checkpoint_file} (epoch {begin_epoch})")
        del checkpoint

    writer = None
    if main:
        from torch.utils.tensorboard import SummaryWriter
        writer = RunMetrics(final_output_dir, SummaryWriter(log_dir=str(run.tb_log_dir)), begin_epoch)
    debug_hook = _make_debug_hook(cfg, final_output_dir) if main else None
    # a few fixed test images drawn with the predictions at each validation, TensorBoard only (rank 0)
    val_pictures = ValidationPictures.from_config(cfg, device) if main and cfg.TRAIN.VAL_FREQ > 0 else None

    history_file = final_output_dir / "val_history.json"
    history = json.loads(history_file.read_text()) if main and begin_epoch > 0 and history_file.exists() else []
    best_ap = max((entry["AP"] for entry in history), default=-1.0)
    train_seconds = history[-1]["train_seconds"] if history else 0.0
    time_budget = TimeBudget(budget_seconds, device, start=run_start) if budget_seconds is not None else None
    first_step = global_step
    for epoch in range(begin_epoch, cfg.TRAIN.END_EPOCH):
        epoch_start = time.time()
        if not cfg.TRAIN.LEGACY_NO_SET_EPOCH:
            loader.sampler.set_epoch(epoch)
        global_step, averages = train_one_epoch(
            model, loader, loss_fn, optimizer, precision, epoch, device, logger=logger if main else None,
            writer=writer, print_freq=cfg.PRINT_FREQ, global_step=global_step, debug_hook=debug_hook,
            show_progress=main and not args.no_progress, max_iterations=args.max_iterations, guard=guard,
            time_budget=time_budget)
        guard.check_weights(_unwrap(model), epoch)  # before validation and the checkpoint
        lr_scheduler.step()
        train_seconds += time.time() - epoch_start
        is_best = True  # official: model_best is simply the latest epoch
        if cfg.TRAIN.VAL_FREQ > 0 and (epoch + 1) % cfg.TRAIN.VAL_FREQ == 0:
            # every rank predicts its share of the images with rank 0's weights and BatchNorm statistics
            # (those saved); rank 0 evaluates and tells the others
            broadcast_buffers(_unwrap(model))
            name_values, ap = evaluate_model(cfg, _unwrap(model), device, final_output_dir, logger, verbose=False,
                                             during_training=True)  # never valid.py's results file
            if main:
                history.append({"epoch": epoch + 1, "train_seconds": round(train_seconds, 1), "AP": ap,
                                "metrics": name_values})
                history_file.write_text(json.dumps(history, indent=2))
            is_best = ap > best_ap
            best_ap = max(best_ap, ap)
            if val_pictures is not None:
                for tag, picture in val_pictures.draw(_unwrap(model)):
                    writer.add_image(tag, picture, epoch + 1)
        barrier()
        rng_states = all_gather_objects(ckpt.capture_rng_states(device))
        if main:
            logger.info(f"epoch {epoch} done: " + ", ".join(f"{k} {v:.3e}" for k, v in averages.items()))
            validated = history[-1]["metrics"] if history and history[-1]["epoch"] == epoch + 1 else None
            writer.end_epoch(epoch + 1, averages, validated)  # metrics.csv, curves.png, val/* to TensorBoard
            checkpoint = ckpt.build_checkpoint(epoch, cfg.MODEL.NAME, _unwrap(model), optimizer, lr_scheduler,
                                               precision.scaler, cfg.dump(), perf=epoch,
                                               rng_states_per_rank=rng_states, global_step=global_step)
            logger.info(f"=> saving checkpoint to {final_output_dir}")
            ckpt.atomic_torch_save(checkpoint, checkpoint_file)
            if is_best:
                ckpt.atomic_torch_save(checkpoint["best_state_dict"], final_output_dir / ckpt.BEST_NAME)
        if time_budget is not None and time_budget.stopped:  # the cut epoch is saved as a finished one
            logger.info(f"stopped at the time budget ({budget_seconds:g} s) after {global_step - first_step} "
                        f"iterations, in epoch {epoch}")
            break

    if main:
        final_file = final_output_dir / ckpt.FINAL_NAME
        logger.info(f"=> saving final model state to {final_file}")
        ckpt.atomic_torch_save(_unwrap(model).state_dict(), final_file)
        if writer is not None:
            writer.close()
        run_lock.release()
    cleanup_distributed()
    return final_output_dir
