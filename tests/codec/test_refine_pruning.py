"""Refine's pruned search (hot pixels, then tile bounds) finds the whole-map first argmax, ties included."""
import numpy as np
import pytest

from higherhrnet.codec.refinement import _best_pixels, _scores, _TileBounds, tile_extremes


def quantised_map(rng, shape_hw, tag_dim, kind):
    height, width = shape_hw
    if kind == "flat":  # an empty joint map: equal heat everywhere, so every score ties
        heat = np.zeros(height * width, np.float32)
    else:
        heat = np.round(rng.normal(0.0, 0.2, height * width) * 8) / 8
        heat[rng.integers(0, heat.size, 20)] = 1.0
    tags = np.round(rng.normal(0.0, 1.5, (height * width, tag_dim)) * 4) / 4
    return heat.astype(np.float32), tags.astype(np.float32)


@pytest.mark.parametrize("shape_hw", [(100, 120), (97, 131)])
@pytest.mark.parametrize("tag_dim", [1, 2])
@pytest.mark.parametrize("kind", ["peaks", "flat"])
def test_pruned_search_equals_whole_map_argmax(shape_hw, tag_dim, kind):
    rng = np.random.default_rng(hash((shape_hw, tag_dim, kind)) % 2 ** 32)
    heat, tags = quantised_map(rng, shape_hw, tag_dim, kind)
    mean_tags = (np.round(rng.normal(0.0, 1.5, (12, tag_dim)) * 4) / 4).astype(np.float32)
    expected = np.argmax(_scores(heat, tags, mean_tags), axis=1)
    for hot_pixels in (64, 512, 4096):  # 4096: map too small to prune, the whole map is scored
        np.testing.assert_array_equal(_best_pixels(heat, tags, mean_tags, hot_pixels, shape_hw), expected)


def test_tile_bounds_hold_for_every_pixel():
    rng = np.random.default_rng(3)
    heat, tags = quantised_map(rng, (45, 70), 2, "peaks")
    bounds = _TileBounds.of_maps(heat.reshape(45, 70), tags.reshape(45, 70, 2), 16)
    assert bounds.heat_max.shape == (3, 5)
    for tau in rng.normal(0, 1.5, (10, 2)).astype(np.float32):
        upper = bounds.upper_bounds(tau)
        score = _scores(heat, tags, tau[None])[0].reshape(45, 70)
        tile_best = tile_extremes(np.maximum, score[..., None], 16)[..., 0]
        assert np.all(tile_best <= upper)
    pixels = bounds.pixels(np.eye(3, 5, dtype=bool))
    assert np.all(np.diff(pixels) != 0) and pixels.max() < 45 * 70
    assert bounds.before(70 * 16 + 20).sum() == 5 + 2  # the first tile row, tiles (1, 0) and (1, 1)


@pytest.mark.parametrize("shape", [(32, 48, 2), (45, 70, 1), (7, 5, 3)])
def test_tile_extremes_equal_a_loop_over_tiles(shape):
    maps = np.random.default_rng(3).normal(size=shape).astype(np.float32)
    maps[0, 0, 0] = np.nan
    for ufunc in (np.maximum, np.minimum):
        tiles = tile_extremes(ufunc, maps, 16)
        for ty in range(tiles.shape[0]):
            for tx in range(tiles.shape[1]):
                block = maps[16 * ty:16 * ty + 16, 16 * tx:16 * tx + 16]
                np.testing.assert_array_equal(tiles[ty, tx], ufunc.reduce(block.reshape(-1, shape[2]), axis=0))
    with pytest.raises(ValueError, match="np.maximum or np.minimum"):
        tile_extremes(np.add, maps, 16)
