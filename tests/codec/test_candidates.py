"""Max-pool NMS and top-k (algorithm.md §6.5): fast path vs torch MaxPool2d, and against the official top-k."""
import numpy as np
import pytest
import torch

from higherhrnet.codec.candidates import nms, top_k, window_max
from higherhrnet.codec.reference import top_k_reference

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)


def plateau_maps(seed, shape=(1, 17, 37, 53)):
    """Random maps quantised to a few levels (many equal neighbours), with negative values too."""
    generator = torch.Generator().manual_seed(seed)
    return torch.round(torch.rand(shape, generator=generator) * 6 - 1) / 4


@pytest.mark.parametrize("kernel, padding", [(5, 2), (3, 1), (7, 3), (1, 0)])
@pytest.mark.parametrize("seed", [0, 1])
def test_window_max_equals_maxpool(kernel, padding, seed):
    det = plateau_maps(seed)
    expected = torch.nn.MaxPool2d(kernel, 1, padding)(det)
    assert torch.equal(window_max(det, kernel, padding), expected)


def test_nms_keeps_plateaus_and_signed_zeros():
    det = torch.tensor([[[[0.5, 0.5, 0.1, 0.0, 0.0, 0.0, 0.0],
                          [0.1, 0.1, 0.1, 0.0, 0.0, -0.2, 0.0],
                          [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3]]]])
    result = nms(det, 3, 1)
    assert result[0, 0, 0, :2].tolist() == [0.5, 0.5]  # equal maxima both survive
    assert result[0, 0, 0, 2] == 0 and result[0, 0, 2, 6] == 0.3
    # a suppressed negative value becomes -0.0, exactly like the official det * mask
    assert torch.signbit(result[0, 0, 1, 5])
    official = det * torch.eq(torch.nn.MaxPool2d(3, 1, 1)(det), det).float()
    assert torch.equal(torch.signbit(result), torch.signbit(official))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("tag_dim", [1, 2])
def test_top_k_equals_reference(seed, tag_dim):
    det = plateau_maps(seed)
    tags = torch.randn(det.shape + (tag_dim,), generator=torch.Generator().manual_seed(seed + 10))
    fast, reference = top_k(det, tags), top_k_reference(det, tags)
    for fast_array, reference_array in zip(fast, reference):
        np.testing.assert_array_equal(fast_array, reference_array)
    tag_k, loc_k, val_k = fast
    assert tag_k.shape == (1, 17, 30, tag_dim) and loc_k.shape == (1, 17, 30, 2) and val_k.shape == (1, 17, 30)
    assert loc_k.dtype == np.int64 and val_k.dtype == np.float32
    # locations index the maps as (x, y) = (column, row); values and tags are read there
    joints = np.arange(17)[:, None]
    np.testing.assert_array_equal(val_k[0], det[0].numpy()[joints, loc_k[0, ..., 1], loc_k[0, ..., 0]])
    np.testing.assert_array_equal(tag_k[0], tags[0].numpy()[joints, loc_k[0, ..., 1], loc_k[0, ..., 0]])
    assert np.all(np.diff(val_k, axis=2) <= 0)


def test_shared_tag_map_serves_every_joint():
    det = plateau_maps(3, (1, 4, 9, 11))
    tags = torch.randn(1, 1, 9, 11, 2)
    tag_k, loc_k, _ = top_k(det, tags, max_people=5, tag_per_joint=False)
    np.testing.assert_array_equal(tag_k[0], tags[0, 0].numpy()[loc_k[0, ..., 1], loc_k[0, ..., 0]])


@pytest.mark.parametrize("maps_name, fixture_name", [("maps_a", "pipeline_a"), ("maps_b", "pipeline_b")])
def test_top_k_matches_official_above_threshold(maps_name, fixture_name, request):
    det, tags = request.getfixturevalue(maps_name)
    fixture = request.getfixturevalue(fixture_name)
    tag_k, loc_k, val_k = top_k(det, tags)
    meaningful = fixture["topk_val_k"] > 0.1
    assert meaningful.sum() > 20
    np.testing.assert_array_equal(val_k[meaningful], fixture["topk_val_k"][meaningful])
    np.testing.assert_array_equal(loc_k[meaningful], fixture["topk_loc_k"][meaningful])
    np.testing.assert_array_equal(tag_k[meaningful], fixture["topk_tag_k"][meaningful])


def test_bad_window_and_shapes_raise():
    det = torch.zeros(1, 17, 8, 8)
    with pytest.raises(ValueError, match="padding"):
        nms(det, 5, 1)
    with pytest.raises(ValueError, match="tags must be"):
        top_k(det, torch.zeros(1, 17, 8, 9, 1))
    with pytest.raises(ValueError, match="exceeds"):
        top_k(det, torch.zeros(1, 17, 8, 8, 1), max_people=65)
