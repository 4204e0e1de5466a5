"""The whole decoder (official HeatmapParser.parse) and back-projection against the official outputs."""
import numpy as np
import pytest
import torch

from higherhrnet.codec import DecoderParams, get_final_preds, parse
from higherhrnet.codec.candidates import top_k
from higherhrnet.codec.refinement import adjust

from codec_helpers import dense_grouping_inputs, synthetic_maps

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)


def assert_same_decoding(first, second):
    (persons_a,), scores_a = first
    (persons_b,), scores_b = second
    np.testing.assert_array_equal(persons_a, persons_b)
    assert [s.tobytes() for s in scores_a] == [s.tobytes() for s in scores_b]


@pytest.mark.parametrize("maps_name, fixture_name", [("maps_a", "pipeline_a"), ("maps_b", "pipeline_b")])
def test_parse_and_back_projection_equal_official(maps_name, fixture_name, request):
    det, tags = request.getfixturevalue(maps_name)
    fixture = request.getfixturevalue(fixture_name)
    np.testing.assert_array_equal(adjust(fixture["matched"], det[0].numpy()), fixture["adjusted"])
    (persons,), scores = parse(det, tags, DecoderParams(adjust=True, refine=True))
    np.testing.assert_array_equal(persons, fixture["grouped"])
    np.testing.assert_array_equal(np.array(scores, dtype=np.float32), fixture["scores"])
    heatmap_size = tuple(int(v) for v in fixture["heatmap_size_wh"])
    assert heatmap_size == (det.shape[3], det.shape[2])
    final_results = get_final_preds(persons, fixture["final_center"], fixture["final_scale"], heatmap_size)
    assert len(final_results) == len(fixture["final_results"])
    np.testing.assert_allclose(np.array(final_results), fixture["final_results"], rtol=0, atol=1e-3)
    np.testing.assert_array_equal(np.array(final_results)[:, :, 2:], fixture["final_results"][:, :, 2:])
    assert_same_decoding(parse(det, tags, DecoderParams(fast=False)), ([persons], scores))


def test_grouping_fixtures_decode_exactly(grouping_fixture):
    name, fixture = grouping_fixture
    for image in range(4):
        prefix = f"img{image}_"
        det, tag = dense_grouping_inputs(fixture, prefix)
        as_float = det.astype(np.float64)
        np.testing.assert_array_equal([as_float.sum(), np.abs(as_float).sum(), (as_float ** 2).sum()],
                                      fixture[prefix + "det_digest"])
        tag_k, loc_k, val_k = top_k(torch.from_numpy(det), torch.from_numpy(tag))
        found = fixture[prefix + "topk_val_k"] > 0
        np.testing.assert_array_equal(val_k[found], fixture[prefix + "topk_val_k"][found])
        np.testing.assert_array_equal(loc_k[found], fixture[prefix + "topk_loc_k"][found])
        np.testing.assert_array_equal(tag_k[found], fixture[prefix + "topk_tag_k"][found])

        decoded = parse(det, tag)
        (persons,), scores = decoded
        np.testing.assert_array_equal(persons, fixture[prefix + "grouped"], err_msg=f"{name} image {image}")
        np.testing.assert_allclose(np.array(scores, np.float64), fixture[prefix + "scores"], rtol=1e-7)
        heatmap_size = tuple(int(v) for v in fixture[prefix + "heatmap_size_wh"])
        final_preds = get_final_preds(persons, fixture[prefix + "center"], fixture[prefix + "scale"], heatmap_size)
        np.testing.assert_allclose(np.array(final_preds), fixture[prefix + "final_preds"], rtol=0, atol=1e-4)
        assert_same_decoding(decoded, parse(det, tag, DecoderParams(fast=False)))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("tag_dim", [1, 2])
def test_fast_parse_equals_reference_on_random_maps(seed, tag_dim):
    det, tags = synthetic_maps(seed + 20, tag_dim=tag_dim)
    fast = parse(det, tags)
    assert fast[0][0].shape[0] >= 3
    assert_same_decoding(fast, parse(det, tags, DecoderParams(fast=False)))


@pytest.mark.parametrize("options", [
    dict(adjust=False, refine=True), dict(adjust=True, refine=False), dict(use_detection_val=False),
    dict(ignore_too_much=True, max_people=5), dict(matcher="scipy"), dict(nms_kernel=3, nms_padding=1),
    dict(detection_threshold=0.3, tag_threshold=0.5),
])
def test_fast_parse_equals_reference_with_other_settings(options):
    det, tags = synthetic_maps(5, tag_dim=2)
    assert_same_decoding(parse(det, tags, DecoderParams(**options)), parse(det, tags, DecoderParams(fast=False, **options)))


def test_shared_tag_map_is_used_for_every_joint():
    det, tags = synthetic_maps(6, tag_dim=2)
    shared = tags[:, :1]
    decoded = parse(det, shared, DecoderParams(tag_per_joint=False))
    assert_same_decoding(decoded, parse(det, shared.expand_as(tags).contiguous()))
    assert_same_decoding(decoded, parse(det, shared, DecoderParams(tag_per_joint=False, fast=False)))


def test_parse_of_empty_maps_and_bad_inputs():
    (persons,), scores = parse(torch.zeros(1, 17, 16, 16), torch.zeros(1, 17, 16, 16, 2))
    assert persons.shape == (0, 17, 5) and scores == []
    assert get_final_preds(persons, (8, 8), (0.08, 0.08), (16, 16)) == []
    with pytest.raises(ValueError, match="batch of one"):
        parse(torch.zeros(2, 17, 16, 16), torch.zeros(2, 17, 16, 16, 1))
    with pytest.raises(ValueError, match="channels"):
        parse(torch.zeros(1, 17, 16, 16), torch.zeros(1, 1, 16, 16, 1))
    with pytest.raises(ValueError, match="dimensions"):
        parse(torch.zeros(1, 17, 16, 16), torch.zeros(1, 17, 16, 16))
    with pytest.raises(ValueError, match="persons of shape"):
        get_final_preds(np.zeros((17, 5)), (8, 8), (0.08, 0.08), (16, 16))
