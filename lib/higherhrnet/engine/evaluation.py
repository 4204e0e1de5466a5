"""Evaluation: the driver behind tools/valid.py and the loop over a test split.

    config -> model + weights -> every rank predicts its share of the images -> rank 0 gathers them in
    dataset order, writes the results file and prints the official AP table.

Images are read and resized by DataLoader workers (TEST.WORKERS) and run through `PosePipeline` one at a
time; a skeleton picture is saved every PRINT_FREQ images. Under torchrun rank r takes images r, r + world,
..., so the results file and table equal those of a single process with the same thread count. Periodic
validation during training (TRAIN.VAL_FREQ) runs the same code on every training rank (`evaluate_model`).

tools/valid.py and a training run may share a run folder (valid.py reads its model_best.pth.tar while the
training goes on). They never write the same file: valid.py writes the official
`results/keypoints_<split>_results.json`, `result_valid_<i>.jpg` and `valid_<time>_rank0.log`; validation
during training writes `results/training_keypoints_<split>_results.json` (`training_results_file`), the
training its log `train_<time>_rank0.log`, checkpoints, val_history.json, metrics.csv and curves.png.
valid.py takes no run lock and deletes nothing, so it may run beside a training at any time.
"""
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..data.build import build_test_dataset, dataset_layout
from ..evaluation import evaluate_predictions, name_value_table_lines
from ..keypoints import dataset_family
from ..models import build_model, load_model_weights, model_summary
from ..pose_nms import PersonFilter
from ..visualize import save_valid_picture
from .distributed import all_gather_objects, broadcast_object, cleanup_distributed, get_rank, get_world_size
from .inference import InferenceSettings, PosePipeline, prepare
from .setup import setup


class _PreparedTestImages(torch.utils.data.Dataset):
    """Wraps a test dataset: item = (index, image, image_id, file_name, PreparedImage)."""

    def __init__(self, dataset, settings, indices):
        self.dataset, self.settings, self.indices = dataset, settings, list(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, position):
        index = self.indices[position]
        image, image_id, file_name = self.dataset[index]
        return index, image, image_id, file_name, prepare(image, self.settings)


def _single_item(batch):
    return batch[0]


def predict_dataset(pipeline, dataset, *, workers=0, print_freq=0, picture_dir=None, num_joints=17,
                    show_progress=True, timings=None, person_filter=None, skeleton_pairs=None):
    """Run `pipeline` over this rank's share of `dataset`.

    Returns {dataset index: (image_id, file_name, persons list of (J, 3 + T) arrays, scores list)} for
    this rank. print_freq > 0 and picture_dir: save `result_valid_<i>.jpg` every print_freq images (the
    folder is made where missing: other ranks may run on nodes that do not share rank 0's filesystem).
    person_filter: optional `pose_nms.PersonFilter` (TEST.POSE_NMS / TEST.MIN_PERSON_SCORE) applied to
    each image's persons after the pipeline; None or a disabled filter keeps every person (official).
    skeleton_pairs: limbs drawn in the pictures (None: chosen from num_joints, official layouts).
    """
    rank, world_size = get_rank(), get_world_size()
    indices = range(rank, len(dataset), world_size)
    loader = torch.utils.data.DataLoader(_PreparedTestImages(dataset, pipeline.settings, indices), batch_size=1,
                                         shuffle=False, num_workers=workers, collate_fn=_single_item)
    predictions = {}
    for index, image, image_id, file_name, prepared in tqdm(loader, desc="valid", dynamic_ncols=True,
                                                            disable=not show_progress):
        persons, scores = pipeline.run_prepared(prepared, timings)
        if person_filter is not None:
            persons, scores = person_filter(persons, scores)
        predictions[index] = (image_id, file_name, persons, scores)
        if picture_dir is not None and print_freq > 0 and index % print_freq == 0:
            picture_dir.mkdir(parents=True, exist_ok=True)
            save_valid_picture(picture_dir / f"result_valid_{index}.jpg", image,
                               np.asarray(persons).reshape(len(persons), num_joints, -1) if persons else
                               np.zeros((0, num_joints, 3), np.float32), num_joints, skeleton_pairs=skeleton_pairs)
    return predictions


def gather_predictions(local_predictions):
    """All ranks' predictions merged, in dataset order (a list of (image_id, file_name, persons, scores))."""
    merged = {}
    for part in all_gather_objects(local_predictions):
        merged.update(part)
    return [merged[index] for index in sorted(merged)]


def training_results_file(final_output_dir, split):
    """Results file of validation during training (TRAIN.VAL_FREQ), never the one valid.py writes:
    `<final_output_dir>/results/training_keypoints_<split>_results.json`."""
    return Path(final_output_dir) / "results" / f"training_keypoints_{split}_results.json"


def evaluate(predictions, *, dataset_family, annotation_file, split, final_output_dir, drop_last_joint,
             arch_name, logger=None, verbose=True, oks_sigmas=None, results_file=None):
    """Write the results file (None: the official name), compute the table; returns (name_values, ap, table_lines)."""
    image_ids = [image_id for image_id, _, _, _ in predictions]
    persons = [persons for _, _, persons, _ in predictions]
    scores = [scores for _, _, _, scores in predictions]
    name_values, ap = evaluate_predictions(dataset_family, annotation_file, split, final_output_dir, image_ids,
                                           persons, scores, drop_last_joint=drop_last_joint, verbose=verbose,
                                           oks_sigmas=oks_sigmas, results_file=results_file)
    lines = name_value_table_lines(name_values, arch_name)
    if logger is not None:
        for line in lines:
            logger.info(line)
    return name_values, ap, lines


def evaluate_model(cfg, model, device, final_output_dir, logger, *, show_progress=False, verbose=True,
                   print_freq=0, dataset=None, during_training=False):
    """AP of `model` on DATASET.TEST with the tools/valid.py pipeline, on every rank of the job.

    Every rank predicts its share; rank 0 gathers, writes the results file and computes the table; the
    (name_values dict, AP) of rank 0 are returned on every rank. during_training: write the results to
    `training_results_file` instead of valid.py's official file (see the module doc).
    """
    dataset = dataset if dataset is not None else build_test_dataset(cfg)
    layout = dataset_layout(cfg, dataset)
    custom_sigmas = None if layout.official else layout.sigmas_array()
    settings = InferenceSettings.from_config(cfg, device, layout=layout)
    pipeline = PosePipeline(model, settings, device)
    local = predict_dataset(pipeline, dataset, workers=cfg.TEST.WORKERS, print_freq=print_freq,
                            picture_dir=final_output_dir if print_freq else None, num_joints=settings.num_joints,
                            show_progress=show_progress and get_rank() == 0,
                            person_filter=PersonFilter.from_config(cfg, sigmas=custom_sigmas),
                            skeleton_pairs=layout.skeleton)
    predictions = gather_predictions(local)
    outcome = None
    if get_rank() == 0:
        name_values, ap, _ = evaluate(
            predictions, dataset_family=dataset_family(cfg.DATASET.DATASET_TEST),
            annotation_file=dataset.annotation_file, split=cfg.DATASET.TEST, final_output_dir=final_output_dir,
            drop_last_joint=bool(cfg.DATASET.WITH_CENTER and not cfg.TEST.IGNORE_CENTER), arch_name=cfg.MODEL.NAME,
            logger=logger, verbose=verbose, oks_sigmas=custom_sigmas,
            results_file=training_results_file(final_output_dir, cfg.DATASET.TEST) if during_training else None)
        outcome = (dict(name_values), float(ap))
    return broadcast_object(outcome)


def run_validation(cfg_file, opts=(), show_progress=True):
    """tools/valid.py: evaluate; returns (name_values, ap) on every rank."""
    run = setup(cfg_file, opts, phase="valid")
    cfg, logger = run.cfg, run.logger
    model = build_model(cfg, is_train=False)
    if run.is_main:
        summary = model_summary(model, cfg.DATASET.INPUT_SIZE)
        logger.info(f"model: {summary.total_parameters:,} parameters, "
                    f"{summary.gflops:.2f} GFLOPs (multiply-adds) for a "
                    f"{cfg.DATASET.INPUT_SIZE}x{cfg.DATASET.INPUT_SIZE} input")
    model_file = cfg.TEST.MODEL_FILE or str(run.final_output_dir / "model_best.pth.tar")
    logger.info(f"=> loading model from {model_file}")
    load_model_weights(model, model_file)
    model.to(run.device)
    name_values, ap = evaluate_model(cfg, model, run.device, run.final_output_dir, logger,
                                     show_progress=show_progress, print_freq=cfg.PRINT_FREQ)
    cleanup_distributed()
    return name_values, ap
