"""The evaluation driver behind tools/valid.py (SPEC 9.1): config -> model + weights -> predictions -> AP table."""
import pprint

import torch

from ..config import ConfigError, load_config
from ..data.build import build_test_dataset
from ..data.image_io import ImageReadError
from ..data.sources import AnnotationFileError
from ..evaluation import AnnotationError
from ..keypoints import dataset_family
from ..models import CheckpointError, build_model, load_model_weights, model_summary, resolve_device
from ..pose_nms import PersonFilter
from .distributed import cleanup_distributed, init_distributed
from .inference import InferenceSettings, PosePipeline
from .machine import machine_summary
from .output_dirs import create_logger
from .validate import evaluate, gather_predictions, predict_dataset

# Errors caused by the user's input: reported as one line, without a traceback.
UserError = (ConfigError, CheckpointError, ImageReadError, AnnotationFileError, AnnotationError,
             FileNotFoundError, ValueError)


def run_validation(cfg_file, opts=(), show_progress=True):
    """Evaluate; returns (name_values, ap) on rank 0 and (None, None) on other ranks."""
    cfg = load_config(cfg_file, opts)
    device = resolve_device(cfg.DEVICE)
    rank, local_rank, world_size = init_distributed(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    main = rank == 0
    logger, final_output_dir, _ = create_logger(cfg, cfg_file, "valid", rank)
    logger.info(machine_summary())  # the last bits of the results depend on these (docs/reproducibility.md)
    logger.info(pprint.pformat({"cfg": cfg_file, "opts": list(opts)}))
    logger.info(cfg.dump())
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = cfg.CUDNN.BENCHMARK
        torch.backends.cudnn.deterministic = cfg.CUDNN.DETERMINISTIC
        torch.backends.cudnn.enabled = cfg.CUDNN.ENABLED

    model = build_model(cfg, is_train=False)
    if main:
        summary = model_summary(model, cfg.DATASET.INPUT_SIZE)
        logger.info(f"model: {summary.total_parameters:,} parameters, "
                    f"{summary.gflops:.2f} GFLOPs (multiply-adds) for a "
                    f"{cfg.DATASET.INPUT_SIZE}x{cfg.DATASET.INPUT_SIZE} input")
    model_file = cfg.TEST.MODEL_FILE or str(final_output_dir / "model_best.pth.tar")
    logger.info(f"=> loading model from {model_file}")
    load_model_weights(model, model_file)
    model.to(device)

    settings = InferenceSettings.from_config(cfg, device)
    pipeline = PosePipeline(model, settings, device)
    dataset = build_test_dataset(cfg)
    local = predict_dataset(pipeline, dataset, workers=cfg.TEST.WORKERS, print_freq=cfg.PRINT_FREQ,
                            picture_dir=final_output_dir, num_joints=settings.num_joints,
                            show_progress=main and show_progress, person_filter=PersonFilter.from_config(cfg))
    predictions = gather_predictions(local)
    name_values = ap = None
    if main:
        family = dataset_family(cfg.DATASET.DATASET_TEST)
        name_values, ap, _ = evaluate(
            predictions, dataset_family=family, annotation_file=dataset.annotation_file, split=cfg.DATASET.TEST,
            final_output_dir=final_output_dir,
            drop_last_joint=bool(cfg.DATASET.WITH_CENTER and not cfg.TEST.IGNORE_CENTER),
            arch_name=cfg.MODEL.NAME, logger=logger)
    cleanup_distributed()
    return name_values, ap
