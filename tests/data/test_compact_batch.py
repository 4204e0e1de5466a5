"""Compact training batches: expanded, they equal the dense batches bit for bit, through workers too."""
import random

import numpy as np
import pytest
import torch
import torch.utils.data

from higherhrnet.codec import HeatmapGenerator
from higherhrnet.data import build_train_dataset, build_train_loader
from higherhrnet.data.compact_batch import CompactBatch, batch_on_device, collate_compact
from higherhrnet.data.image_io import normalise_by_indexing, to_input_batch, to_input_tensor
from test_data_build import _cfg


@pytest.fixture
def coco_root(shared):
    return shared / "data" / "coco_sample"


def _seeded(seed):
    np.random.seed(seed)
    random.seed(seed)


def _assert_batches_equal(expanded, dense):
    images, heatmaps, masks, tag_targets = expanded
    assert images.dtype == dense[0].dtype and torch.equal(images, dense[0])
    for mine, theirs in zip(heatmaps + masks + tag_targets, dense[1] + dense[2] + dense[3], strict=True):
        assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
        assert torch.equal(mine, theirs)


@pytest.mark.parametrize("input_size, output_sizes", [(128, [32, 64]), (512, [128, 256])])
def test_compact_samples_expand_to_the_dense_batch(coco_root, input_size, output_sizes):
    dataset = build_train_dataset(_cfg(coco_root, INPUT_SIZE=input_size, OUTPUT_SIZE=output_sizes))
    indices = [0, 1, 2, 3, 2, 1]  # the same image twice gets other draws (one is flipped, one not)
    _seeded(4)
    dense = torch.utils.data.default_collate([dataset[i] for i in indices])
    _seeded(4)
    compact = collate_compact([dataset.compact_item(i) for i in indices])
    assert isinstance(compact, CompactBatch) and compact.images.dtype == torch.uint8
    assert dense[1][0].count_nonzero() > 0  # the samples have labelled joints
    _assert_batches_equal(compact.expand(torch.device("cpu")), dense)
    _assert_batches_equal(compact.expand_with_torch(torch.device("cpu")), dense)  # the path used on GPUs
    _assert_batches_equal(batch_on_device(compact, torch.device("cpu")), dense)
    _assert_batches_equal(batch_on_device(dense, torch.device("cpu")), dense)


def test_compact_batch_is_several_times_smaller(coco_root):
    dataset = build_train_dataset(_cfg(coco_root, INPUT_SIZE=512, OUTPUT_SIZE=[128, 256]))
    _seeded(0)
    dense = torch.utils.data.default_collate([dataset[i] for i in range(4)])
    _seeded(0)
    compact = collate_compact([dataset.compact_item(i) for i in range(4)])
    sizes = []
    compact.map_tensors(lambda tensor: sizes.append(tensor.numel() * tensor.element_size()))
    dense_bytes = sum(t.numel() * t.element_size() for t in [dense[0]] + dense[1] + dense[2] + dense[3])
    assert sum(sizes) * 5 < dense_bytes


def test_loader_with_a_worker_gives_the_dense_batches(coco_root):
    """Through a worker process (its own seeding, shared-memory transfer) the batches are still equal."""
    cfg = _cfg(coco_root, INPUT_SIZE=128, OUTPUT_SIZE=[32, 64])
    cfg.WORKERS = 1
    dataset = build_train_dataset(cfg)
    batches = {}
    for compact in (False, True):
        torch.manual_seed(11)  # worker seeds derive from torch's RNG (seed_worker)
        batches[compact] = list(build_train_loader(cfg, dataset, seed=2, compact=compact))
    assert all(isinstance(batch, CompactBatch) for batch in batches[True]) and len(batches[True]) == 2
    for compact, dense in zip(batches[True], batches[False], strict=True):
        _assert_batches_equal(compact.expand(torch.device("cpu")), dense)


def test_overlapping_kernels_take_the_maximum_like_the_generator():
    generator = HeatmapGenerator(64, 3, sigma=2)
    rng = np.random.default_rng(0)
    joints = np.concatenate([rng.uniform(-3, 67, (6, 3, 2)), rng.integers(0, 3, (6, 3, 1))], axis=2)
    joints[:3, 0, :2] = [[20.2, 30.9], [21.7, 31.1], [24.0, 29.0]]  # three overlapping kernels of joint 0
    joints[:3, 0, 2] = 2
    joints[3:] = joints[:3] + [5.0, 1.0, 0.0]  # and more pairs of overlaps
    flat_index, values = generator.points(joints)
    assert len(np.unique(flat_index)) < len(flat_index)  # some pixels are written more than once
    sample_shapes = [(3, 64, 64)]
    batch = CompactBatch(images=torch.zeros((1, 3, 8, 8), dtype=torch.uint8),
                         heatmap_index=[torch.from_numpy(flat_index)], heatmap_values=[torch.from_numpy(values)],
                         heatmap_shapes=[(1,) + sample_shapes[0]], masks=[torch.ones((1, 64, 64), dtype=torch.uint8)],
                         tag_targets=[torch.zeros((1, 30, 3, 2), dtype=torch.int32)])
    expected = torch.from_numpy(generator(joints))
    assert torch.equal(batch.expand(torch.device("cpu"))[1][0][0], expected)
    assert torch.equal(batch.expand_with_torch(torch.device("cpu"))[1][0][0], expected)


def test_sample_without_visible_joints_has_empty_points_and_zero_heatmaps():
    generator = HeatmapGenerator(32, 17, sigma=2)
    joints = np.zeros((2, 17, 3))
    flat_index, values = generator.points(joints)
    assert flat_index.shape == (0,) and flat_index.dtype == np.int64 and values.dtype == np.float32
    assert not generator(joints).any()


def test_normalisation_on_other_devices_indexes_the_same_table():
    """The non-CPU branch of to_input_batch (run here on CPU tensors) equals the CPU one and the reference."""
    values = torch.arange(256, dtype=torch.uint8)
    images = torch.stack([values.view(16, 16), values.flip(0).view(16, 16), values.view(16, 16).t()])[None]
    images = torch.cat([images, images.roll(3, dims=3)])
    by_table = to_input_batch(images)
    assert torch.equal(normalise_by_indexing(images), by_table)
    reference = torch.stack([to_input_tensor(image.permute(1, 2, 0).numpy()) for image in images])
    assert torch.equal(by_table, reference)
    with pytest.raises(ValueError, match="uint8 \\(B, 3, H, W\\)"):
        to_input_batch(images.float())


def test_map_tensors_reaches_every_tensor(coco_root):
    """pin_memory and the device transfer go through map_tensors: no tensor may be left out."""
    dataset = build_train_dataset(_cfg(coco_root))
    _seeded(0)
    batch = collate_compact([dataset.compact_item(i) for i in range(2)])
    originals = {id(t) for t in [batch.images] + batch.heatmap_index + batch.heatmap_values + batch.masks
                 + batch.tag_targets}
    copied = batch.map_tensors(torch.clone)
    seen = []
    copied.map_tensors(seen.append)
    assert len(seen) == len(originals) and not originals & {id(t) for t in seen}
    assert copied.heatmap_shapes == batch.heatmap_shapes
