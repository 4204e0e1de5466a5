"""The fast decoder gives exactly the reference (official-loop) decoder's poses on crowded maps, T = 2."""
import numpy as np
import pytest
import torch

from higherhrnet.codec import DecoderParams, candidates, parse, refinement

from perfect_maps import crowd_case, image_case, perfect_maps


def noisy(case, seed):
    """Perturbed perfect maps: noise (negative heat too), then quantised so that exact ties abound."""
    rng = np.random.default_rng(seed)
    det = case["det"].numpy() + rng.normal(0, 0.03, case["det"].shape).astype(np.float32)
    tags = case["tags"].numpy() + rng.normal(0, 0.3, case["tags"].shape).astype(np.float32)
    return torch.from_numpy(np.round(det * 64) / 64), torch.from_numpy(np.round(tags * 4) / 4)


def assert_same(fast, reference):
    (fast_persons,), fast_scores = fast
    (reference_persons,), reference_scores = reference
    np.testing.assert_array_equal(fast_persons, reference_persons)
    np.testing.assert_array_equal(np.array(fast_scores), np.array(reference_scores))


CASES = [(10, (200, 136), "perfect"), (20, (256, 192), "perfect"), (30, (256, 192), "perfect"),
         (10, (256, 192), "noisy"), (20, (200, 136), "noisy"), (30, (256, 192), "noisy"),
         (2, (208, 150), "perfect"), (3, (256, 192), "perfect")]  # few persons: flat maps, tied scores


@pytest.mark.parametrize("num_persons, size_wh, kind", CASES)
def test_fast_decoder_equals_reference_on_crowded_maps(num_persons, size_wh, kind):
    case = crowd_case(num_persons, size_wh, seed=num_persons)
    det, tags = (case["det"], case["tags"]) if kind == "perfect" else noisy(case, num_persons)
    assert tags.shape[-1] == 2
    fast = parse(det, tags)
    assert len(fast[0][0]) >= max(1, num_persons // 2)
    assert_same(fast, parse(det, tags, DecoderParams(fast=False)))


def test_crowded_maps_exercise_the_pruned_paths(monkeypatch):
    """The crowded case goes through the sparse top-k and the tile-bounded refine (not the fallbacks)."""
    calls = {"dense_top_k": 0, "tiles": 0}
    dense_top_k, tile_bounds = candidates.top_k, refinement._TileBounds

    def counting_top_k(*args, **kwargs):
        calls["dense_top_k"] += 1
        return dense_top_k(*args, **kwargs)

    class CountingTiles(tile_bounds):
        @classmethod
        def of_maps(cls, *args, **kwargs):
            calls["tiles"] += 1
            return super().of_maps(*args, **kwargs)

    monkeypatch.setattr(candidates, "top_k", counting_top_k)
    monkeypatch.setattr(refinement, "_TileBounds", CountingTiles)
    case = crowd_case(30, (256, 192), seed=30)
    (persons,), _ = parse(case["det"], case["tags"])
    assert calls["dense_top_k"] == 0 and calls["tiles"] > 0
    assert (persons[:, :, 2] > 0).all()  # refine filled every missing joint of every person


@pytest.mark.parametrize("seed", range(4))
def test_sparse_top_k_equals_dense_top_k_above_threshold(seed):
    case = crowd_case(12, (120, 88), seed=seed)
    det, tags = noisy(case, seed)
    for threshold, kernel in ((0.1, 5), (0.3, 3), (0.0, 7)):
        dense = candidates.top_k(det, tags, 30, kernel, kernel // 2)
        sparse = candidates.top_k_above_threshold(det, tags, 30, kernel, kernel // 2, threshold=threshold)
        above = dense[2] > threshold
        np.testing.assert_array_equal(sparse[2] > threshold, above)
        for dense_array, sparse_array in zip(dense, sparse):
            np.testing.assert_array_equal(sparse_array[above], dense_array[above])


def test_sparse_top_k_falls_back_on_nan_and_negative_threshold():
    det, tags = perfect_maps(np.array([[[10, 10, 1]] * 17]), (32, 24))
    det[0, 3, 5, 5] = float("nan")
    for threshold in (0.1, -1.0):
        dense = candidates.top_k(det, tags)
        sparse = candidates.top_k_above_threshold(det, tags, threshold=threshold)
        for dense_array, sparse_array in zip(dense, sparse):
            np.testing.assert_array_equal(sparse_array, dense_array)


def test_image_case_draws_every_annotated_person_at_the_test_geometry():
    annotations = [{"iscrowd": 0, "num_keypoints": 2, "keypoints": [100, 50, 2, 120, 60, 1] + [0] * 45},
                   {"iscrowd": 1, "num_keypoints": 0, "keypoints": [0] * 51}]
    case = image_case((300, 400, 3), annotations, input_size=256)
    assert case["det"].shape == (1, 17, 256, 384) and case["heatmap_size"] == (384, 256)
    assert case["joints"].shape == (1, 17, 3)
    assert case["det"].max() == 1.0 and set(np.unique(case["tags"][..., 0].numpy())) == {0.0, 1.0}
