"""Builders: read the yacs config (official keys) and assemble datasets and the training DataLoader.

This is the only data module that reads `cfg`; everything below it takes plain arguments.
"""
import random

import numpy as np
import torch
import torch.distributed
import torch.utils.data

from ..errors import ConfigError, EmptySplitError
from ..keypoints import layout_from_config
from .compact_batch import CompactTrainSamples, collate_compact
from .datasets import KeypointTestDataset, KeypointTrainDataset
from .sources import keypoint_category
from ..codec.targets import HeatmapGenerator, JointsGenerator
from .transforms import TrainAugmentation
from .worker_memory import keep_freed_memory

TRAIN_DATASETS = {"coco_kpt": "coco", "crowd_pose_kpt": "crowd_pose"}
TEST_DATASETS = {"coco": "coco", "crowd_pose": "crowd_pose"}


def _family(name, known, key):
    if name not in known:
        raise ConfigError(f"{key} {name!r} is not a known dataset; expected one of {sorted(known)} (the folder "
                          "layout; any joint layout in a COCO-format folder: 'coco_kpt' / 'coco' with "
                          "DATASET.KEYPOINTS, see docs/keypoint_layouts.md)")
    return known[name]


def dataset_layout(cfg, dataset):
    """The KeypointLayout of the config, checked against the annotation file of `dataset` (names, count)."""
    return layout_from_config(cfg, keypoint_category(dataset.coco), dataset.annotation_file)


def build_train_dataset(cfg):
    """KeypointTrainDataset for DATASET.DATASET ('coco_kpt' / 'crowd_pose_kpt') on split DATASET.TRAIN."""
    data = cfg.DATASET
    family = _family(data.DATASET, TRAIN_DATASETS, "DATASET.DATASET")
    if data.SCALE_AWARE_SIGMA:
        raise ConfigError("DATASET.SCALE_AWARE_SIGMA True is not supported: the official scale-aware heatmap "
                          "generator cannot even be constructed (algorithm.md §3.5); set it to False")
    layout = layout_from_config(cfg)  # the flip index; names are checked against the file below
    output_sizes = list(data.OUTPUT_SIZE)
    augmentation = TrainAugmentation(
        input_size=data.INPUT_SIZE, output_sizes=output_sizes,
        flip_index=layout.flip_index_with_center(),
        max_rotation=data.MAX_ROTATION, min_scale=data.MIN_SCALE, max_scale=data.MAX_SCALE,
        max_translate=data.MAX_TRANSLATE, flip_prob=data.FLIP, scale_type=data.SCALE_TYPE,
        exact_flip=getattr(data, "EXACT_FLIP", False))
    heatmap_generators = [HeatmapGenerator(size, data.NUM_JOINTS, data.SIGMA) for size in output_sizes]
    joints_generators = [JointsGenerator(data.MAX_NUM_PEOPLE, data.NUM_JOINTS, size, cfg.MODEL.TAG_PER_JOINT)
                         for size in output_sizes]
    dataset = KeypointTrainDataset(family, data.ROOT, data.TRAIN, data.NUM_JOINTS, augmentation,
                                   heatmap_generators, joints_generators, with_center=data.WITH_CENTER,
                                   data_format=data.DATA_FORMAT)
    dataset_layout(cfg, dataset)
    return _not_empty(dataset, data.TRAIN, "images with people")


def build_test_dataset(cfg):
    """KeypointTestDataset for DATASET.DATASET_TEST ('coco' / 'crowd_pose') on split DATASET.TEST."""
    data = cfg.DATASET
    family = _family(data.DATASET_TEST, TEST_DATASETS, "DATASET.DATASET_TEST")
    dataset = KeypointTestDataset(family, data.ROOT, data.TEST, data_format=data.DATA_FORMAT)
    return _not_empty(dataset, data.TEST, "images")


def _not_empty(dataset, split, what):
    """`dataset`, or a one-line EmptySplitError when its annotation file lists no image (what: 'images'...)."""
    if len(dataset) == 0:
        raise EmptySplitError(f"0 {what} in {dataset.annotation_file} (split {split})")
    return dataset


def seed_worker(worker_id):
    """DataLoader worker_init_fn: seed NumPy and `random` from torch's per-worker seed (algorithm.md §4.4, M19).

    Also keeps freed memory for reuse in the worker (`worker_memory.keep_freed_memory`, speed only).
    """
    keep_freed_memory()
    seed = torch.initial_seed() % 2 ** 32
    np.random.seed(seed)
    random.seed(seed)


def build_train_loader(cfg, dataset, rank=None, world_size=None, seed=None, compact=False):
    """Training DataLoader: per-process batch TRAIN.IMAGES_PER_GPU (algorithm.md M4), WORKERS, PIN_MEMORY, no drop_last.

    rank, world_size: this process in the training job (None: read from torch.distributed when it is
    initialised, else 0 and 1). The sampler is always a DistributedSampler (with one replica when training
    alone): its order depends only on (seed, epoch), so the training loop calls
    `loader.sampler.set_epoch(epoch)` every epoch (algorithm.md B2) and a resumed run sees the same order.
    compact: dataset is a KeypointTrainDataset whose samples travel as compact_batch.CompactBatch (about 8x
    fewer bytes from the workers; `train_one_epoch` expands them to the same dense batch on the device).
    seed: the sampler's shuffling seed (0 when None, as torch's default). Worker seeds come from torch's
    global RNG through `seed_worker`, which the checkpoint's RNG states restore.
    """
    if world_size is None:
        initialised = torch.distributed.is_available() and torch.distributed.is_initialized()
        world_size = torch.distributed.get_world_size() if initialised else 1
        rank = torch.distributed.get_rank() if initialised else 0
    sampler = torch.utils.data.distributed.DistributedSampler(
        dataset, num_replicas=world_size, rank=rank or 0, shuffle=True, seed=0 if seed is None else seed)
    return torch.utils.data.DataLoader(
        CompactTrainSamples(dataset) if compact else dataset, batch_size=cfg.TRAIN.IMAGES_PER_GPU, sampler=sampler,
        num_workers=cfg.WORKERS, pin_memory=cfg.PIN_MEMORY, drop_last=False,
        worker_init_fn=seed_worker, collate_fn=collate_compact if compact else None)
