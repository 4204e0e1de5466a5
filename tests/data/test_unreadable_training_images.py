"""A training image that cannot be read is skipped (warned once, counted), up to DATASET.MAX_UNREADABLE_FRACTION.

The count lives in shared memory, so what DataLoader workers find is visible to the training process.
"""
import logging
import random
import shutil

import numpy as np

import pytest
import torch

from higherhrnet.config import ConfigError, load_config
from higherhrnet.data.build import build_train_dataset, build_train_loader
from higherhrnet.data.datasets import UnreadableImagesError
from higherhrnet.errors import REPORTED_ERRORS, one_line

NO_AUGMENTATION = ["DATASET.MAX_ROTATION", "0", "DATASET.MIN_SCALE", "1.0", "DATASET.MAX_SCALE", "1.0",
                   "DATASET.MAX_TRANSLATE", "0", "DATASET.FLIP", "0.0"]


def _dataset(shared, tmp_path, broken=(), opts=()):
    """The tiny config's training set on a copy of the COCO sample whose images `broken` (indices) are junk."""
    root = tmp_path / "coco"
    shutil.copytree(shared / "data" / "coco_sample", root)
    cfg = load_config(str(shared / "tiny" / "tiny_coco.yaml"),
                      ["DATASET.ROOT", str(root), "TRAIN.IMAGES_PER_GPU", "1", *NO_AUGMENTATION, *opts])
    dataset = build_train_dataset(cfg)
    for index in broken:
        with open(dataset.image_path(index), "wb") as handle:
            handle.write(b"not a jpeg")
    return cfg, dataset


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_an_unreadable_image_gives_the_next_readable_sample_and_is_warned_once(shared, tmp_path):
    _, dataset = _dataset(shared, tmp_path, broken=[1])
    dataset.limit_unreadable(0.5)
    records, logger = _Records(), logging.getLogger("higherhrnet")
    logger.addHandler(records)
    try:
        skipped, again, following = dataset[1], dataset[1], dataset[2]
    finally:
        logger.removeHandler(records)
    for sample in (skipped, again):  # no augmentation: the sample of image 2, exactly
        assert torch.equal(sample[0], following[0])
        assert all(torch.equal(torch.as_tensor(a), torch.as_tensor(b)) for a, b in zip(sample[1], following[1]))
    assert records.messages == [f"skipping an unreadable training image (1 so far): {dataset.image_path(1)}: "
                                "not a readable image (corrupt or unsupported format)"]
    assert dataset.unreadable_files() == [dataset.image_path(1)]


def test_the_last_image_wraps_around_to_the_first(shared, tmp_path):
    _, dataset = _dataset(shared, tmp_path, broken=[3])
    dataset.limit_unreadable(0.5)
    assert torch.equal(dataset[3][0], dataset[0][0])


def test_every_image_readable_changes_nothing(shared, tmp_path):
    _, dataset = _dataset(shared, tmp_path, opts=["DATASET.FLIP", "0.5", "DATASET.MAX_ROTATION", "30"])
    dataset.limit_unreadable(0.5)
    np.random.seed(3)
    random.seed(3)
    first = [dataset[index][0] for index in range(len(dataset))]
    np.random.seed(3)
    random.seed(3)
    second = []
    for index in range(len(dataset)):  # the plain read of every image, as before skipping existed
        image, mask, joints, _ = dataset.load(index)
        params = dataset.augmentation.draw(*image.shape[:2])
        second.append(dataset.make_targets(dataset.augmentation.apply(image, mask, joints, params))[0])
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert int(dataset.unreadable.sum()) == 0


def _one_epoch(cfg, dataset):
    loader = build_train_loader(cfg, dataset, rank=0, world_size=1, seed=0, compact=True)
    return sum(batch.images.shape[0] if hasattr(batch, "images") else batch[0].shape[0] for batch in loader)


def test_workers_report_the_skip_to_the_training_process(shared, tmp_path):
    cfg, dataset = _dataset(shared, tmp_path, broken=[2], opts=["WORKERS", "2"])
    dataset.limit_unreadable(0.3, 4)
    assert _one_epoch(cfg, dataset) == 4  # every sample delivered, image 2 replaced by image 3
    assert dataset.unreadable_files() == [dataset.image_path(2)]  # marked in a worker, seen here
    assert _one_epoch(cfg, dataset) == 4


def test_more_unreadable_images_than_allowed_stop_with_one_line_from_a_worker(shared, tmp_path):
    cfg, dataset = _dataset(shared, tmp_path, broken=[0, 2], opts=["WORKERS", "2"])
    dataset.limit_unreadable(0.3, 4)
    with pytest.raises(UnreadableImagesError) as raised:
        _one_epoch(cfg, dataset)
    assert isinstance(raised.value, REPORTED_ERRORS)
    message = one_line(raised.value)
    assert message.startswith("DATASET.MAX_UNREADABLE_FRACTION 0.3: 2 of the 4 training images of this process "
                              "could not be read (more than 1.2); the last: "), message
    assert "not a readable image" in message and "\n" not in message


def test_by_default_any_unreadable_image_stops(shared, tmp_path):
    _, dataset = _dataset(shared, tmp_path, broken=[0])
    with pytest.raises(UnreadableImagesError, match=r"^DATASET.MAX_UNREADABLE_FRACTION 0: 1 of the 4 "):
        dataset[0]


@pytest.mark.parametrize("value", ["1.0", "-0.1"])
def test_the_fraction_is_checked(shared, value):
    with pytest.raises(ConfigError, match="DATASET.MAX_UNREADABLE_FRACTION must lie in"):
        load_config(str(shared / "tiny" / "tiny_coco.yaml"), ["DATASET.MAX_UNREADABLE_FRACTION", value])
