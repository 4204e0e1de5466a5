"""Builders from a config with the official keys, the training loader and its worker seeding."""
import json
import random
import shutil

import numpy as np
import pytest
import torch
import torch.distributed
import torch.utils.data
from yacs.config import CfgNode

from higherhrnet.data import (KeypointTestDataset, KeypointTrainDataset, build_test_dataset,
                              build_train_dataset, build_train_loader, seed_worker)


def _cfg(root, **dataset):
    """A config holding only the keys the data builders read (official names and defaults, algorithm.md §1.2)."""
    cfg = CfgNode()
    cfg.WORKERS = 0
    cfg.PIN_MEMORY = False
    cfg.MODEL = CfgNode({"TAG_PER_JOINT": True})
    cfg.TRAIN = CfgNode({"IMAGES_PER_GPU": 2})
    cfg.TEST = CfgNode({"FLIP_TEST": True})
    cfg.DATASET = CfgNode({
        "ROOT": str(root), "DATASET": "coco_kpt", "DATASET_TEST": "coco", "NUM_JOINTS": 17,
        "MAX_NUM_PEOPLE": 30, "TRAIN": "val2017", "TEST": "val2017", "DATA_FORMAT": "jpg", "MAX_ROTATION": 30,
        "MIN_SCALE": 0.75, "MAX_SCALE": 1.5, "SCALE_TYPE": "short", "MAX_TRANSLATE": 40, "INPUT_SIZE": 128,
        "OUTPUT_SIZE": [32, 64], "FLIP": 0.5, "SIGMA": 2.0, "SCALE_AWARE_SIGMA": False, "WITH_CENTER": False,
        "KEYPOINTS": CfgNode({"NAMES": [], "FLIP_PAIRS": [], "SKELETON": [], "OKS_SIGMAS": [], "JOINT_ORDER": []})})
    cfg.DATASET.update(dataset)
    return cfg


@pytest.fixture
def coco_root(shared):
    return shared / "data" / "coco_sample"


def test_build_train_dataset_and_sample_shapes(coco_root):
    dataset = build_train_dataset(_cfg(coco_root))
    assert isinstance(dataset, KeypointTrainDataset) and len(dataset) == 4
    np.random.seed(0)
    random.seed(0)
    image, heatmaps, masks, tags = dataset[2]
    assert image.shape == (3, 128, 128) and image.dtype == torch.float32
    assert [h.shape for h in heatmaps] == [(17, 32, 32), (17, 64, 64)]
    assert [m.shape for m in masks] == [(32, 32), (64, 64)]
    assert [t.shape for t in tags] == [(30, 17, 2), (30, 17, 2)] and tags[0].dtype == np.int32
    assert dataset.augmentation.exact_flip is False  # DATASET.EXACT_FLIP absent -> official flip


def test_build_crowdpose_with_center_and_exact_flip(shared):
    cfg = _cfg(shared / "data" / "crowdpose_sample", DATASET="crowd_pose_kpt", DATASET_TEST="crowd_pose",
               NUM_JOINTS=15, WITH_CENTER=True, TRAIN="trainval", TEST="test")
    cfg.DATASET.EXACT_FLIP = True
    dataset = build_train_dataset(cfg)
    assert dataset.augmentation.flip_index == [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13, 14]
    assert dataset.augmentation.exact_flip is True
    image, mask, joints, _ = dataset.load(0)
    assert joints.shape == (3, 15, 3) and mask.all()
    labelled = joints[0, :14, 2] != 0
    np.testing.assert_allclose(joints[0, 14, :2], joints[0, :14, :2].sum(axis=0) / labelled.sum())
    assert dataset[1][1][0].shape == (15, 32, 32)
    test_dataset = build_test_dataset(cfg)
    assert isinstance(test_dataset, KeypointTestDataset) and test_dataset.ids == [106848, 103319]


@pytest.mark.parametrize("change,message", [
    ({"SCALE_AWARE_SIGMA": True}, "SCALE_AWARE_SIGMA True is not supported"),
    ({"DATASET": "mpii_kpt"}, "DATASET.DATASET 'mpii_kpt' is not a known dataset"),
    ({"WITH_CENTER": True}, r"NUM_JOINTS 17 \(WITH_CENTER True\) is not an official layout \(coco_kpt has 17, "
                            r"\+1 with WITH_CENTER\); set DATASET.KEYPOINTS.OKS_SIGMAS"),
])
def test_build_train_dataset_rejects_bad_configs(coco_root, change, message):
    with pytest.raises(ValueError, match=message):
        build_train_dataset(_cfg(coco_root, **change))


def test_training_drops_images_without_annotations_but_testing_keeps_them(shared, tmp_path):
    root = tmp_path / "coco"
    shutil.copytree(shared / "data" / "coco_sample", root)
    path = root / "annotations" / "person_keypoints_val2017.json"
    path.chmod(0o644)
    data = json.loads(path.read_text())
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != 40083]
    path.write_text(json.dumps(data))
    assert build_train_dataset(_cfg(root)).ids == [785, 196141, 197388]
    assert build_test_dataset(_cfg(root)).ids == [785, 40083, 196141, 197388]


def test_train_loader_batches_with_the_per_process_batch(coco_root):
    dataset = build_train_dataset(_cfg(coco_root))
    loader = build_train_loader(_cfg(coco_root), dataset, seed=3)
    assert loader.batch_size == 2 and loader.sampler.num_replicas == 1
    images, heatmaps, masks, tags = next(iter(loader))
    assert images.shape == (2, 3, 128, 128)
    assert heatmaps[1].shape == (2, 17, 64, 64) and masks[0].shape == (2, 32, 32)
    assert tags[0].shape == (2, 30, 17, 2) and tags[0].dtype == torch.int32
    order = [list(b) for b in build_train_loader(_cfg(coco_root), range(4), seed=3)]
    assert order == [list(b) for b in build_train_loader(_cfg(coco_root), range(4), seed=3)]


def test_train_loader_splits_the_data_between_ranks(coco_root):
    loaders = [build_train_loader(_cfg(coco_root), list(range(7)), rank=rank, world_size=2, seed=5)
               for rank in range(2)]
    assert all(isinstance(loader.sampler, torch.utils.data.DistributedSampler) for loader in loaders)
    for loader in loaders:
        loader.sampler.set_epoch(1)
    seen = [[int(i) for batch in loader for i in batch] for loader in loaders]
    assert len(seen[0]) == len(seen[1]) == 4  # padded to an equal split, as DistributedSampler does
    assert set(seen[0]) | set(seen[1]) == set(range(7))
    loaders[0].sampler.set_epoch(2)
    assert [int(i) for batch in loaders[0] for i in batch] != seen[0]  # set_epoch reshuffles


def test_train_loader_reads_rank_and_world_size_from_torch_distributed(coco_root, tmp_path):
    torch.distributed.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0,
                                         world_size=1)
    try:
        loader = build_train_loader(_cfg(coco_root), list(range(5)))
        assert loader.sampler.num_replicas == 1 and loader.sampler.rank == 0  # a world of one
        assert sorted(int(i) for batch in loader for i in batch) == [0, 1, 2, 3, 4]
    finally:
        torch.distributed.destroy_process_group()


def test_seed_worker_seeds_numpy_and_random_from_torch():
    torch.manual_seed(11)
    seed_worker(0)
    first = (np.random.random(), random.random())
    torch.manual_seed(11)
    seed_worker(0)
    assert (np.random.random(), random.random()) == first
    torch.manual_seed(12)
    seed_worker(0)
    assert (np.random.random(), random.random()) != first


class _Draws(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        return torch.tensor([np.random.random(), random.random()], dtype=torch.float64)


def test_workers_draw_different_streams():
    cfg = _cfg("unused")
    cfg.WORKERS = 2
    cfg.TRAIN.IMAGES_PER_GPU = 1
    torch.manual_seed(0)
    draws = torch.cat(list(build_train_loader(cfg, _Draws(), seed=0)))
    assert len({tuple(row.tolist()) for row in draws}) == 4  # no two samples share NumPy and random draws
    torch.manual_seed(0)
    again = torch.cat(list(build_train_loader(cfg, _Draws(), seed=0)))
    assert torch.equal(draws, again)  # worker seeds follow torch's global RNG: a seeded run repeats
    later = torch.cat(list(build_train_loader(cfg, _Draws(), seed=0)))
    assert not torch.equal(draws, later)  # and the next epoch draws new augmentations
