"""Evaluate a model on a test split: the loop of tools/valid.py (SPEC 9.1).

Images are read and resized by DataLoader workers (TEST.WORKERS), run through `PosePipeline` one at a
time, a skeleton picture is saved every PRINT_FREQ images, and the predictions go to the evaluator.
Under torchrun the images are split across ranks (rank r takes images r, r + world, ...) and rank 0
gathers them back in dataset order, so the results file and table equal a single-process run.
"""
import cv2
import numpy as np
import torch
from tqdm import tqdm

from ..evaluation import evaluate_predictions, name_value_table_lines
from ..visualize import save_valid_picture
from .distributed import all_gather_objects, get_rank, get_world_size
from .inference import prepare


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
                    show_progress=True, timings=None, person_filter=None):
    """Run `pipeline` over this rank's share of `dataset`.

    Returns {dataset index: (image_id, file_name, persons list of (J, 3 + T) arrays, scores list)} for
    this rank. print_freq > 0 and picture_dir: save `result_valid_<i>.jpg` every print_freq images.
    person_filter: optional `pose_nms.PersonFilter` (TEST.POSE_NMS / TEST.MIN_PERSON_SCORE) applied to
    each image's persons after the pipeline; None or a disabled filter keeps every person (official).
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
            save_valid_picture(picture_dir / f"result_valid_{index}.jpg", image,
                               np.asarray(persons).reshape(len(persons), num_joints, -1) if persons else
                               np.zeros((0, num_joints, 3), np.float32), num_joints)
    return predictions


def gather_predictions(local_predictions):
    """All ranks' predictions merged, in dataset order (a list of (image_id, file_name, persons, scores))."""
    merged = {}
    for part in all_gather_objects(local_predictions):
        merged.update(part)
    return [merged[index] for index in sorted(merged)]


def evaluate(predictions, *, dataset_family, annotation_file, split, final_output_dir, drop_last_joint,
             arch_name, logger=None, verbose=True):
    """Write the results file and compute the AP table; returns (name_values, ap, table_lines)."""
    image_ids = [image_id for image_id, _, _, _ in predictions]
    persons = [persons for _, _, persons, _ in predictions]
    scores = [scores for _, _, _, scores in predictions]
    name_values, ap = evaluate_predictions(dataset_family, annotation_file, split, final_output_dir, image_ids,
                                           persons, scores, drop_last_joint=drop_last_joint, verbose=verbose)
    lines = name_value_table_lines(name_values, arch_name)
    if logger is not None:
        for line in lines:
            logger.info(line)
    return name_values, ap, lines
