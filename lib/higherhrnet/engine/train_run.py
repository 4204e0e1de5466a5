"""The training driver behind tools/dist_train.py: config -> model, data, loss, optimizer -> epochs -> checkpoints.

Read top to bottom, it is the official main_worker (SPEC 8.1-8.4) with the modern pieces: torchrun / env://
process groups, torch.amp instead of the fp16 wrapper, rank-0-only side effects, `set_epoch` called,
atomic checkpoints with scheduler, scaler and RNG states for an exact AUTO_RESUME.
"""
import json
import pprint
import time

import torch

from ..config import load_config
from ..data.build import build_train_dataset, build_train_loader
from ..data.worker_memory import keep_freed_memory
from ..losses import MultiLossFactory
from ..models import build_model, resolve_device
from ..visualize import save_batch_maps
from . import checkpoint as ckpt
from .distributed import all_gather_objects, barrier, cleanup_distributed, init_distributed, is_distributed
from .machine import machine_summary
from .output_dirs import create_logger
from .seeding import seed_everything
from .trainer import MixedPrecision, build_lr_scheduler, build_optimizer, train_one_epoch


def _device_for_rank(cfg, local_rank):
    device = resolve_device(cfg.DEVICE)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    return device


def _unwrap(model):
    return model.module if hasattr(model, "module") else model


def wrap_for_training(model, sync_bn, device, distributed, logger):
    """Move to `device`; under DDP convert BatchNorm to SyncBatchNorm when asked (SPEC 8.7) and wrap in DDP.

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
    """Training debug pictures every PRINT_FREQ iterations (SPEC 8.5, 9.4), rank 0 only."""
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


def _validate_during_training(cfg, model, device, final_output_dir, logger):
    """TRAIN.VAL_FREQ: AP of the current weights on DATASET.TEST with the tools/valid.py pipeline (rank 0)."""
    from ..data.build import build_test_dataset
    from ..keypoints import dataset_family
    from .inference import InferenceSettings, PosePipeline
    from .validate import evaluate, predict_dataset

    dataset = build_test_dataset(cfg)
    pipeline = PosePipeline(model, InferenceSettings.from_config(cfg, device), device)
    predictions = predict_dataset(pipeline, dataset, workers=cfg.TEST.WORKERS, show_progress=False)
    predictions = [predictions[index] for index in sorted(predictions)]
    name_values, ap, _ = evaluate(
        predictions, dataset_family=dataset_family(cfg.DATASET.DATASET_TEST), annotation_file=dataset.annotation_file,
        split=cfg.DATASET.TEST, final_output_dir=final_output_dir,
        drop_last_joint=bool(cfg.DATASET.WITH_CENTER and not cfg.TEST.IGNORE_CENTER), arch_name=cfg.MODEL.NAME,
        logger=logger, verbose=False)
    return dict(name_values), float(ap)


def run_training(args):
    """Train with the config of `args.cfg` + `args.opts`; works alone, under torchrun or under mp.spawn."""
    cfg = load_config(args.cfg, args.opts)
    device = resolve_device(cfg.DEVICE)
    rank, local_rank, world_size = init_distributed(device)
    device = _device_for_rank(cfg, local_rank)
    main = rank == 0

    logger, final_output_dir, tb_log_dir = create_logger(cfg, args.cfg, "train", rank)
    logger.info(machine_summary())
    logger.info(pprint.pformat(vars(args)))
    logger.info(cfg.dump())
    logger.info(f"device {device}, rank {rank}/{world_size}")

    if device.type == "cuda":
        torch.backends.cudnn.benchmark = cfg.CUDNN.BENCHMARK
        torch.backends.cudnn.deterministic = cfg.CUDNN.DETERMINISTIC
        torch.backends.cudnn.enabled = cfg.CUDNN.ENABLED
    seed = cfg.TRAIN.SEED
    if seed >= 0:
        seed_everything(seed + rank)

    model = wrap_for_training(build_model(cfg, is_train=True), cfg.MODEL.SYNC_BN, device, is_distributed(), logger)
    loss_fn = MultiLossFactory.from_config(cfg).to(device)

    dataset = build_train_dataset(cfg)
    if cfg.WORKERS == 0:  # samples are made in this process: as in a worker (seed_worker), reuse freed memory
        keep_freed_memory()
    loader = build_train_loader(cfg, dataset, rank=rank, world_size=world_size,
                                seed=seed if seed >= 0 else 0, compact=True)
    optimizer = build_optimizer(cfg, model)
    lr_scheduler = build_lr_scheduler(cfg, optimizer)
    precision = MixedPrecision.from_config(cfg, device)

    begin_epoch = cfg.TRAIN.BEGIN_EPOCH
    checkpoint_file = final_output_dir / ckpt.CHECKPOINT_NAME
    if main:
        for stale in final_output_dir.glob(".*.tmp"):  # left by a run killed while writing a checkpoint
            logger.warning(f"removing {stale.name}, an unfinished checkpoint write of an interrupted run")
            stale.unlink()
    global_step = 0
    if cfg.AUTO_RESUME and checkpoint_file.exists():
        checkpoint = ckpt.load_training_checkpoint(checkpoint_file)
        _unwrap(model).load_state_dict(checkpoint["state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        if checkpoint.get("lr_scheduler") is not None:
            lr_scheduler.load_state_dict(checkpoint["lr_scheduler"])
        if precision.scaler is not None and checkpoint.get("grad_scaler") is not None:
            precision.scaler.load_state_dict(checkpoint["grad_scaler"])
        rng_states = checkpoint.get("rng_states")
        if rng_states is not None and len(rng_states) == world_size:
            ckpt.restore_rng_states(rng_states[rank])
        else:
            logger.warning("checkpoint has no RNG states for this world size: the resumed run is not bit-exact")
        global_step = checkpoint.get("global_step", 0)
        begin_epoch = checkpoint["epoch"]
        logger.info(f"=> resumed from {checkpoint_file} (epoch {begin_epoch})")

    writer = None
    if main:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(log_dir=str(tb_log_dir))
    debug_hook = _make_debug_hook(cfg, final_output_dir) if main else None

    history_file = final_output_dir / "val_history.json"
    history = json.loads(history_file.read_text()) if begin_epoch > 0 and history_file.exists() else []
    best_ap = max((entry["AP"] for entry in history), default=-1.0)
    train_seconds = history[-1]["train_seconds"] if history else 0.0
    for epoch in range(begin_epoch, cfg.TRAIN.END_EPOCH):
        epoch_start = time.time()
        if not cfg.TRAIN.LEGACY_NO_SET_EPOCH:
            loader.sampler.set_epoch(epoch)
        global_step, averages = train_one_epoch(
            model, loader, loss_fn, optimizer, precision, epoch, device, logger=logger if main else None,
            writer=writer, print_freq=cfg.PRINT_FREQ, global_step=global_step, debug_hook=debug_hook,
            show_progress=main and not args.no_progress, max_iterations=args.max_iterations)
        lr_scheduler.step()
        train_seconds += time.time() - epoch_start
        validate_now = cfg.TRAIN.VAL_FREQ > 0 and (epoch + 1) % cfg.TRAIN.VAL_FREQ == 0
        is_best = True  # official: model_best is simply the latest epoch
        if validate_now and main:
            name_values, ap = _validate_during_training(cfg, _unwrap(model), device, final_output_dir, logger)
            history.append({"epoch": epoch + 1, "train_seconds": round(train_seconds, 1), "AP": ap,
                            "metrics": name_values})
            history_file.write_text(json.dumps(history, indent=2))
            if writer is not None:
                writer.add_scalar("val/AP", ap, epoch + 1)
            is_best = ap > best_ap
            best_ap = max(best_ap, ap)
        barrier()
        rng_states = all_gather_objects(ckpt.capture_rng_states())
        if main:
            logger.info(f"epoch {epoch} done: " + ", ".join(f"{k} {v:.3e}" for k, v in averages.items()))
            checkpoint = ckpt.build_checkpoint(epoch, cfg.MODEL.NAME, _unwrap(model), optimizer, lr_scheduler,
                                               precision.scaler, cfg.dump(), perf=epoch,
                                               rng_states_per_rank=rng_states, global_step=global_step)
            logger.info(f"=> saving checkpoint to {final_output_dir}")
            ckpt.atomic_torch_save(checkpoint, checkpoint_file)
            if is_best:
                ckpt.atomic_torch_save(checkpoint["best_state_dict"], final_output_dir / ckpt.BEST_NAME)

    if main:
        final_file = final_output_dir / ckpt.FINAL_NAME
        logger.info(f"=> saving final model state to {final_file}")
        ckpt.atomic_torch_save(_unwrap(model).state_dict(), final_file)
        if writer is not None:
            writer.close()
    cleanup_distributed()
    return final_output_dir
