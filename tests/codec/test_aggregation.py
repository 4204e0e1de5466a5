"""Stage / flip aggregation (algorithm.md §6.3) and scale aggregation (§6.4) against the official digests."""
import numpy as np
import pytest
import torch

from higherhrnet.codec.aggregation import stack_tag_maps
from higherhrnet.codec import (accumulate_scale, aggregate_stage_outputs, finish_aggregation,
                               scales_in_processing_order)
from higherhrnet.keypoints import COCO_FLIP_INDEX

from codec_helpers import STAGE_SWITCHES, raw_outputs, stage_maps

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)


def assert_digest(fixture, name, maps, rtol=1e-5):
    """Compare a tensor with an official digest: sums, extremes, per-channel sums and the subsample."""
    values = maps.double().numpy()
    assert values.shape == tuple(fixture[f"{name}.shape"])
    np.testing.assert_allclose(values.sum(), fixture[f"{name}.sum"], rtol=rtol)
    np.testing.assert_allclose(np.abs(values).sum(), fixture[f"{name}.abssum"], rtol=rtol)
    np.testing.assert_allclose((values ** 2).sum(), fixture[f"{name}.sqsum"], rtol=rtol)
    np.testing.assert_allclose(values.min(), fixture[f"{name}.min"], rtol=rtol)
    np.testing.assert_allclose(values.max(), fixture[f"{name}.max"], rtol=rtol)
    other_axes = tuple(axis for axis in range(values.ndim) if axis != 1)
    np.testing.assert_allclose(values.sum(axis=other_axes), fixture[f"{name}.chsum"], rtol=rtol, atol=1e-3)
    stride = int(fixture[f"{name}.sub_stride"])
    np.testing.assert_allclose(values[:, :, ::stride, ::stride], fixture[f"{name}.sub"], rtol=rtol, atol=1e-6)


def test_flip_single_scale_maps_match_official(pipeline_a, maps_a):
    heatmaps, tags = stage_maps(pipeline_a, 0, flip=True)
    assert len(heatmaps) == 2 and len(tags) == 2
    for index in (0, 1):
        assert_digest(pipeline_a, f"s0_heatmaps{index}", heatmaps[index])
        assert_digest(pipeline_a, f"s0_tags{index}", tags[index])
    det, tag_maps = maps_a
    assert_digest(pipeline_a, "s0_agg_final_heatmaps", det)
    assert_digest(pipeline_a, "final_heatmaps", det)
    assert_digest(pipeline_a, "tags", tag_maps)
    assert int(pipeline_a["s0_agg_num_tags"]) == tag_maps.shape[4] == 2


def test_no_flip_maps_match_official(pipeline_b, maps_b):
    det, tag_maps = maps_b
    assert_digest(pipeline_b, "s0_heatmaps0", det)
    assert_digest(pipeline_b, "final_heatmaps", det)
    assert_digest(pipeline_b, "tags", tag_maps)
    assert int(pipeline_b["s0_agg_num_tags"]) == tag_maps.shape[4] == 1


def test_half_scale_maps_of_the_multi_scale_run(pipeline_c):
    """Scale 0.5 of [0.5, 1, 2]: maps from the stored outputs, projected to the 384x256 base size."""
    heatmaps, tags = stage_maps(pipeline_c, 2, flip=True)
    for index in (0, 1):
        assert_digest(pipeline_c, f"s2_heatmaps{index}", heatmaps[index])
        assert_digest(pipeline_c, f"s2_tags{index}", tags[index])
    # The 0.5 scale adds its flip-averaged heatmaps to the running sum (digests of the sums before/after).
    added = ((heatmaps[0] + heatmaps[1]) / 2.0).double().sum().item()
    np.testing.assert_allclose(pipeline_c["s1_agg_final_heatmaps.sum"] + added,
                               pipeline_c["s2_agg_final_heatmaps.sum"], rtol=1e-6)


def test_multi_scale_collects_tags_only_at_scale_one(pipeline_c):
    """Tag counts after each scale (2.0, 1.0, 0.5) are 0, 2, 2 as in the official run."""
    heatmaps, tags = stage_maps(pipeline_c, 2, flip=True)  # stand-in maps of the right size for every scale
    final, tags_list, counts = None, [], []
    for scale_factor in scales_in_processing_order([0.5, 1.0, 2.0]):
        final, tags_list = accumulate_scale(final, tags_list, heatmaps, tags,
                                            scale_factor=scale_factor, num_scales=3, flip_test=True,
                                            project_to_image=True)
        counts.append(len(tags_list))
    expected = [int(pipeline_c[f"s{i}_agg_num_tags"]) for i in range(3)]
    assert counts == expected == [0, 2, 2]
    det, tag_maps = finish_aggregation(final, tags_list, 3)
    average = (heatmaps[0] + heatmaps[1]) / 2.0
    torch.testing.assert_close(det, (average + average + average) / 3.0, rtol=0, atol=0)
    assert tag_maps.shape == (1, 17, 256, 384, 2)


def test_final_division_and_tag_stacking_match_official_subsamples(pipeline_c):
    """final = running sum / 3 and tags = cat(scale-1 tags) on the official subsampled values."""
    running_sum = torch.from_numpy(pipeline_c["s2_agg_final_heatmaps.sub"])
    tag_subs = [torch.from_numpy(pipeline_c[f"s1_tags{i}.sub"])[..., None] for i in (0, 1)]
    det, tag_maps = finish_aggregation(running_sum, tag_subs, 3)
    np.testing.assert_array_equal(det.numpy(), pipeline_c["final_heatmaps.sub"])
    np.testing.assert_array_equal(tag_maps.numpy(), pipeline_c["tags.sub"])


def test_scale_list_without_one_raises_clear_error():
    with pytest.raises(ValueError, match="no 1.0"):
        scales_in_processing_order([0.5, 2.0])
    assert scales_in_processing_order([0.5, 1, 2]) == [2.0, 1.0, 0.5]
    assert scales_in_processing_order([0.5]) == [0.5]  # a single scale gives the tags itself
    with pytest.raises(ValueError, match="empty"):
        scales_in_processing_order([])
    with pytest.raises(ValueError, match="no tag maps"):
        finish_aggregation(torch.zeros(1, 17, 4, 4), [], 2)


def test_without_projection_tags_and_heatmaps_are_resized_to_the_first_scale():
    """PROJECT2IMAGE off: scale 1.0 tags and later heatmaps are resized to the running sum's size."""
    big, small = torch.rand(1, 17, 16, 24), torch.rand(1, 17, 8, 12)
    original = big.clone()
    final, tags_list = accumulate_scale(None, [], [big], [torch.rand(1, 17, 16, 24)], scale_factor=2.0,
                                        num_scales=2, flip_test=False, project_to_image=False)
    assert tags_list == []
    final, tags_list = accumulate_scale(final, tags_list, [small], [torch.rand(1, 17, 8, 12)], scale_factor=1.0,
                                        num_scales=2, flip_test=False, project_to_image=False)
    assert tags_list[0].shape == (1, 17, 16, 24, 1)
    upsampled = torch.nn.functional.interpolate(small, size=(16, 24), mode="bilinear", align_corners=False)
    torch.testing.assert_close(final, original + upsampled, rtol=0, atol=0)
    assert torch.equal(big, original)  # the caller's maps are not modified


def _synthetic_outputs(num_joints=17, size=(6, 10), seed=0):
    generator = torch.Generator().manual_seed(seed)
    height, width = size
    return [torch.rand(1, 2 * num_joints, height, width, generator=generator),
            torch.rand(1, num_joints, 2 * height, 2 * width, generator=generator)]


def test_flipped_pass_is_mirrored_back_and_permuted():
    """A flipped pass that is the exact mirror image (joints swapped) of the normal pass averages to it."""
    outputs = _synthetic_outputs()
    flip_index = list(COCO_FLIP_INDEX)
    mirrored = [torch.flip(torch.cat([o[:, :17][:, flip_index], o[:, 17:][:, flip_index]], 1), [3])
                if o.shape[1] == 34 else torch.flip(o[:, flip_index], [3]) for o in outputs]
    heatmaps, tags = aggregate_stage_outputs(outputs, mirrored, num_joints=17, flip_index=flip_index,
                                             **STAGE_SWITCHES)
    torch.testing.assert_close(heatmaps[1], heatmaps[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(tags[1], tags[0], rtol=0, atol=1e-6)
    assert heatmaps[0].shape == (1, 17, 12, 20) and tags[0].shape == (1, 17, 12, 20)
    # The heatmap average is (0 + upsampled stage 0 + stage 1) / 2.
    upsampled = torch.nn.functional.interpolate(outputs[0], size=(12, 20), mode="bilinear", align_corners=False)
    torch.testing.assert_close(heatmaps[0], (upsampled[:, :17] + outputs[1]) / 2, rtol=0, atol=0)


def test_shared_tag_map_is_mirrored_back_but_not_permuted():
    generator = torch.Generator().manual_seed(1)
    outputs = [torch.rand(1, 17 + 1, 4, 6, generator=generator)]  # 17 heatmaps + 1 shared tag map
    flipped = [torch.rand(1, 18, 4, 6, generator=generator)]
    heatmaps, tags = aggregate_stage_outputs(
        outputs, flipped, num_joints=17, with_heatmaps_loss=[True], with_ae_loss=[True],
        test_with_heatmaps=[True], test_with_ae=[True], flip_index=COCO_FLIP_INDEX, tag_per_joint=False)
    torch.testing.assert_close(tags[1], torch.flip(flipped[0][:, 17:], [3]), rtol=0, atol=0)
    torch.testing.assert_close(heatmaps[1], torch.flip(flipped[0][:, :17], [3])[:, list(COCO_FLIP_INDEX)],
                               rtol=0, atol=0)


def test_ignored_center_channel_is_dropped_before_projection():
    generator = torch.Generator().manual_seed(2)
    outputs = [torch.rand(1, 36, 4, 6, generator=generator)]  # 18 heatmaps (centre last) + 18 tag maps
    heatmaps, tags = aggregate_stage_outputs(
        outputs, [torch.rand(1, 36, 4, 6, generator=generator)], num_joints=18, with_heatmaps_loss=[True],
        with_ae_loss=[True], test_with_heatmaps=[True], test_with_ae=[True],
        flip_index=list(COCO_FLIP_INDEX) + [17], drop_center=True, project_to_size=(12, 8))
    assert [m.shape for m in heatmaps] == [(1, 17, 8, 12)] * 2
    assert [m.shape for m in tags] == [(1, 17, 8, 12)] * 2
    projected = torch.nn.functional.interpolate(outputs[0][:, :17], size=(8, 12), mode="bilinear",
                                                align_corners=False)
    torch.testing.assert_close(heatmaps[0], projected, rtol=0, atol=0)


def test_bad_stage_arguments_raise():
    outputs = _synthetic_outputs()
    with pytest.raises(ValueError, match="flip_index"):
        aggregate_stage_outputs(outputs, outputs, num_joints=17, **STAGE_SWITCHES)
    with pytest.raises(ValueError, match="no stage"):
        aggregate_stage_outputs(outputs, num_joints=17, with_heatmaps_loss=[True, True], with_ae_loss=[True, False],
                                test_with_heatmaps=[False, False], test_with_ae=[True, False])
    with pytest.raises(ValueError, match="one per stage"):
        aggregate_stage_outputs(outputs, num_joints=17, with_heatmaps_loss=[True], with_ae_loss=[True, False],
                                test_with_heatmaps=[True, True], test_with_ae=[True, False])


def test_raw_outputs_have_the_documented_layout(pipeline_a):
    stage0, stage1 = raw_outputs(pipeline_a, 0, 0)
    assert stage0.shape == (1, 34, 64, 112) and stage1.shape == (1, 17, 128, 224)


@pytest.mark.parametrize("dtype,requires_grad", [(torch.float32, False), (torch.float32, True),
                                                  (torch.float64, False)])
def test_tag_stacking_equals_torch_cat(dtype, requires_grad):
    generator = torch.Generator().manual_seed(3)
    maps = [torch.randn(1, 17, 9, 13, 1, generator=generator, dtype=dtype).requires_grad_(requires_grad)
            for _ in range(3)]
    stacked = stack_tag_maps(maps)
    assert stacked.shape == (1, 17, 9, 13, 3) and stacked.dtype == dtype
    assert torch.equal(stacked, torch.cat(maps, dim=4))
    assert stacked.is_contiguous()
