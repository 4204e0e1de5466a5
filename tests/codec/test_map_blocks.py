"""Blocks of 2x-resized maps computed on demand (codec/map_blocks.py): bit-identical values, valid bounds."""
import numpy as np
import pytest
import torch

from higherhrnet.codec.map_blocks import (BAND, BlockCache, array_crops, column_crops_are_exact, resize,
                                        resize_blocks_2x, tile_reduce, tile_reduce_channels_last,
                                        upsampled_tile_bounds, widen_lower, widen_upper)


def random_maps(seed, channels, height, width):
    generator = torch.Generator().manual_seed(seed)
    maps = torch.randn(channels, height, width, generator=generator)
    maps[:, ::3, ::5] = 0.0
    maps[:, 1::7, ::3] = -0.0
    return maps


def block_cache(maps, block_width=None):
    source = maps.numpy()
    height, width = source.shape[1:]
    cache = None

    def compute(channels, bands, columns, out):
        resize_blocks_2x(array_crops(source), (height, width), channels, bands, columns, cache.block_width, out=out)

    cache = BlockCache((source.shape[0], 2 * height, 2 * width), compute, block_width=block_width)
    return cache


def bits(array):
    return np.ascontiguousarray(array, dtype=np.float32).view(np.int32)


SIZES = [(17, 64, 64), (17, 65, 97), (3, 128, 208), (17, 256, 384), (5, 199, 64), (4, 11, 300), (2, 7, 80),
         (2, 40, 209)]


@pytest.mark.parametrize("channels,height,width", SIZES)
@pytest.mark.parametrize("whole_rows", [False, True])
def test_blocks_equal_the_full_resize_bit_for_bit(channels, height, width, whole_rows):
    maps = random_maps(0, channels, height, width)
    full = resize(maps[None], (2 * height, 2 * width))[0].numpy()
    cache = block_cache(maps, block_width=2 * width if whole_rows else None)
    rng = np.random.default_rng(1)
    # scattered pixels first (blocks computed in a random order), then whole maps
    joints = rng.integers(0, channels, 400)
    ys = np.concatenate([rng.integers(0, 2 * height, 396), [0, 2 * height - 1, 0, 2 * height - 1]])
    xs = np.concatenate([rng.integers(0, 2 * width, 396), [0, 0, 2 * width - 1, 2 * width - 1]])
    values = cache.at(joints, ys, xs)
    assert values.dtype == np.float32
    assert np.array_equal(bits(values), bits(full[joints, ys, xs]))  # signed zeros too
    for channel in range(channels):
        assert np.array_equal(bits(cache.channel(channel)), bits(full[channel]))


def test_column_blocks_are_used_when_exact():
    """On this PyTorch build column crops reproduce the full resize, so wide maps get 128-column blocks."""
    assert column_crops_are_exact()
    cache = block_cache(random_maps(0, 2, 64, 300))
    assert cache.block_width == 128 and cache.grid == (16, 5)
    assert block_cache(random_maps(0, 2, 64, 64)).block_width == 128  # 128 wide: one block across
    assert block_cache(random_maps(0, 2, 64, 60)).block_width == 120  # narrower: whole rows


def test_blocks_are_computed_once_and_read_back_whole():
    maps = random_maps(0, 2, 64, 200)
    full = resize(maps[None], (128, 400))[0].numpy()
    calls = []
    cache = block_cache(maps)
    compute = cache._compute_blocks

    def counting(channels, bands, columns, out):
        calls.append(len(channels))
        compute(channels, bands, columns, out)

    cache._compute_blocks = counting
    cache.at([0, 0, 1], [0, BAND - 1, BAND], [0, 5, 300])                   # blocks (0, 0, 0), (1, 1, 2)
    cache.at([0, 1, 1], [3, 2 * BAND - 1, 2 * BAND], [127, 256, 399])        # only (1, 2, 3) is new
    assert calls == [2, 1]
    block = cache.blocks([1], [1], [2])[0]
    assert np.array_equal(block, full[1, BAND:2 * BAND, 256:384])
    crops = cache.crops(np.array([0]), np.arange(5, 12)[None], np.arange(120, 140)[None])
    assert np.array_equal(crops[0], full[0, 5:12, 120:140])


def test_stored_pixels_finds_exactly_the_computed_pixels_above():
    maps = random_maps(3, 3, 40, 150)
    full = resize(maps[None], (80, 300))[0].numpy()
    cache = block_cache(maps)
    cache.ensure_blocks([0, 2, 2], [0, 3, 9], [0, 1, 2])  # the last block is ragged on both axes
    channels, ys, xs = cache.stored_pixels(lambda values: values > 1.0)
    expected = np.zeros(full.shape, dtype=bool)
    for channel, band, column in [(0, 0, 0), (2, 3, 1), (2, 9, 2)]:
        rows = slice(band * BAND, min((band + 1) * BAND, 80))
        cols = slice(column * 128, min((column + 1) * 128, 300))
        expected[channel, rows, cols] = full[channel, rows, cols] > 1.0
    found = np.zeros(full.shape, dtype=bool)
    found[channels, ys, xs] = True
    assert np.array_equal(found, expected)


def test_too_small_source_maps_are_rejected():
    with pytest.raises(ValueError, match="at least"):
        resize_blocks_2x(array_crops(random_maps(0, 1, 3, 64).numpy()), (3, 64), [0], [0], [0], 128)


def brute_force_tiles(ufunc, plane, tile_h, tile_w, margin):
    height, width = plane.shape
    out = np.empty((-(-height // tile_h), -(-width // tile_w)), plane.dtype)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            window = plane[max(i * tile_h - margin, 0):(i + 1) * tile_h + margin,
                           max(j * tile_w - margin, 0):(j + 1) * tile_w + margin]
            out[i, j] = ufunc.reduce(window, axis=None)
    return out


@pytest.mark.parametrize("height,width,tile,margin", [(16, 16, (4, 4), 0), (17, 30, (4, 8), 2), (9, 64, (2, 32), 1),
                                                      (33, 130, (4, 64), 3), (8, 8, (8, 8), 5)])
def test_tile_reduce_matches_brute_force(height, width, tile, margin):
    planes = np.random.default_rng(0).standard_normal((3, height, width)).astype(np.float32)
    for ufunc in (np.maximum, np.minimum):
        expected = np.stack([brute_force_tiles(ufunc, plane, *tile, margin) for plane in planes])
        assert np.array_equal(tile_reduce(ufunc, planes, tile, margin), expected)
    planes[1, 3, 2] = np.nan
    assert np.isnan(tile_reduce(np.maximum, planes, tile, margin)[1]).any()


@pytest.mark.parametrize("height,width,tile", [(32, 48, 16), (37, 71, 16), (8, 8, 8), (20, 9, 4)])
def test_tile_reduce_channels_last_matches_brute_force(height, width, tile):
    maps = np.random.default_rng(1).standard_normal((height, width, 2)).astype(np.float32)
    for ufunc in (np.maximum, np.minimum):
        expected = np.stack([brute_force_tiles(ufunc, maps[:, :, c], tile, tile, 0) for c in range(2)], axis=2)
        assert np.array_equal(tile_reduce_channels_last(ufunc, maps, tile), expected)
    maps[height - 1, 1, 1] = np.nan
    result = tile_reduce_channels_last(np.minimum, maps, tile)
    assert np.isnan(result[-1, 0, 1]) and not np.isnan(result[..., 0]).any()


@pytest.mark.parametrize("height,width", [(64, 64), (37, 71), (128, 200)])
@pytest.mark.parametrize("mirror", [False, True])
def test_tile_bounds_hold_for_one_and_two_resizes(height, width, mirror):
    plane = random_maps(3, 1, height, width)[0]
    once = resize(plane[None, None], (2 * height, 2 * width))
    twice = torch.flip(once, [3]) if mirror else once
    twice = resize(twice, (4 * height, 4 * width))[0, 0].numpy()
    once = once[0, 0].numpy()
    source = plane.numpy()[:, ::-1] if mirror else plane.numpy()
    for factor, resized in ((2, once[:, ::-1] if mirror else once), (4, twice)):
        for tile, margin in (((4, 4), 0), ((8, 16), 0), ((8, 128), 0), ((8, 128), 2), ((16, 16), 3)):
            upper = widen_upper(upsampled_tile_bounds(source, np.maximum, factor, tile, margin))
            lower = widen_lower(upsampled_tile_bounds(source, np.minimum, factor, tile, margin))
            assert (brute_force_tiles(np.maximum, resized, *tile, margin) <= upper).all()
            assert (brute_force_tiles(np.minimum, resized, *tile, margin) >= lower).all()
    # a tile bound, not a whole-map one: a single spike raises only the tiles near it
    spike = np.zeros((64, 64), np.float32)
    spike[40, 40] = 1.0
    upper = upsampled_tile_bounds(spike, np.maximum, 2, 16)
    assert upper.sum() < upper.size / 2
