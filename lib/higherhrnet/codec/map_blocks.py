"""Blocks of upsampled maps computed on demand, bit for bit as a full resize would give them.

The lazy decoder maps (`tag_maps.ProjectedTagMaps`, `heat_maps.ProjectedHeatmaps`) are 2x bilinear
resizes (`F.interpolate(..., mode='bilinear', align_corners=False)`) of small network outputs. This
module computes chosen blocks of BAND rows x block_width columns of such a resize without resizing
the whole map, with identical values.

Why the values are identical: PyTorch's bilinear kernel computes an output pixel from the 2 x 2 input
pixels around its source position, with weights that depend only on the output index and the size
ratio. For a 2x resize, output row Y reads input rows floor(Y/2 - 1/4) and the next one, clamped at the
borders (likewise for columns). Resizing a crop of the input whose offset is (c_y, c_x) reproduces every
output pixel whose input pixels lie inside the crop, at offset (2 c_y, 2 c_x), except on the crop's own
first and last output rows / columns, where the crop's clamping differs from the full map's (unless
they are the full map's border too). `resize_blocks_2x` takes each block from a crop one input pixel
larger on every side. One condition, found by experiment: PyTorch processes maps narrower than about 55
pixels differently (a last-bit difference), so crops are at least MIN_CROP_COLUMNS wide, and
`column_crops_are_exact` checks once per process that this PyTorch build reproduces column crops; if
not, blocks span the whole width (rows only, which is exact for maps at least that wide).
tests/codec/test_map_blocks.py checks all this against full resizes of maps of many sizes.

Shapes: a stack of C maps (C, h, w) resized to (C, 2h, 2w); values are float32 NumPy arrays.
Requires h >= BAND / 2 + 2 and w >= MIN_CROP_COLUMNS (the lazy maps are used from 64 pixels per side).
"""
import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

# A block: BAND output rows x BLOCK_COLUMNS output columns (or the whole width, see module notes).
BAND = 8
BAND_SHIFT = 3  # log2(BAND)
BLOCK_COLUMNS = 128
MIN_CROP_COLUMNS = 64
# Smallest side (pixels) of the small maps the lazy decoder maps resize; narrower ones are materialised.
MIN_SIDE = MIN_CROP_COLUMNS


def resize(maps, size_hw):
    """Bilinear resize of (N, C, H, W) maps to size_hw = (H', W'), align_corners=False."""
    return F.interpolate(maps, size=tuple(size_hw), mode="bilinear", align_corners=False)


def _crop_starts(blocks, block_size, source_size, crop_size):
    """First input index of each block's crop, and the block's offset in the resized crop."""
    starts = np.clip(blocks * (block_size // 2) - 1, 0, source_size - crop_size)
    return starts, blocks * block_size - 2 * starts


def resize_blocks_2x(read_crops, source_hw, channels, bands, columns, block_width, out=None):
    """Blocks (n, BAND, block_width) float32 of the 2x resize of a map stack, for (channel, band, column) triples.

    read_crops(channels (n,), rows (n, R), cols (n, K)) -> (n, R, K) float32 array or tensor: pixels of the
    source maps (h, w) = source_hw. Block (c, b, k) holds output rows [BAND b, BAND (b + 1)) and columns
    [block_width k, block_width (k + 1)) of map c; pixels past the output map are left unwritten.
    block_width: 2w (whole rows) or an even width with block_width / 2 + 2 >= MIN_CROP_COLUMNS.
    out: optional (n, BAND, block_width) float32 array to write into.
    """
    channels, bands, columns = (np.asarray(a, np.int64) for a in (channels, bands, columns))
    height, width = source_hw
    crop_rows = BAND // 2 + 2
    crop_cols = width if block_width >= 2 * width else block_width // 2 + 2
    if height < crop_rows or width < min(crop_cols, MIN_CROP_COLUMNS):
        raise ValueError(f"resize_blocks_2x: source maps of {height}x{width}, at least {crop_rows}x"
                         f"{MIN_CROP_COLUMNS} needed")
    row_starts, row_offsets = _crop_starts(bands, BAND, height, crop_rows)
    col_starts, col_offsets = _crop_starts(columns, block_width, width, crop_cols)
    crops = read_crops(channels, row_starts[:, None] + np.arange(crop_rows)[None, :],
                       col_starts[:, None] + np.arange(crop_cols)[None, :])
    crops = torch.as_tensor(np.ascontiguousarray(crops) if isinstance(crops, np.ndarray) else crops)
    resized = resize(crops[:, None], (2 * crop_rows, 2 * crop_cols))[:, 0].numpy()
    if out is None:
        out = np.empty((len(channels), BAND, block_width), np.float32)
    # offsets are (2, 2) except for blocks clamped at the map borders
    offsets = row_offsets * (2 * crop_cols + 1) + col_offsets
    for offset in np.unique(offsets):
        same = offsets == offset
        row_offset, col_offset = divmod(int(offset), 2 * crop_cols + 1)
        rows, cols = min(BAND, 2 * crop_rows - row_offset), min(block_width, 2 * crop_cols - col_offset)
        source = resized[:, row_offset:row_offset + rows, col_offset:col_offset + cols]
        if same.all():
            out[:, :rows, :cols] = source
        else:
            out[same, :rows, :cols] = source[same]
    return out


@functools.lru_cache(maxsize=None)
def column_crops_are_exact():
    """True when this PyTorch build resizes MIN_CROP_COLUMNS-wide column crops exactly as the full map."""
    maps = torch.from_numpy(np.random.default_rng(0).standard_normal((3, 12, 200)).astype(np.float32))
    full = resize(maps[None], (24, 400))[0].numpy()
    block_width = 2 * (MIN_CROP_COLUMNS - 2)
    cache = BlockCache((3, 24, 400), lambda c, b, k, out: resize_blocks_2x(array_crops(maps.numpy()), (12, 200),
                                                                           c, b, k, block_width, out=out),
                       block_width=block_width)
    return all(np.array_equal(cache.channel(c), full[c]) for c in range(3))


def array_crops(array):
    """read_crops for `resize_blocks_2x` from a (C, h, w) float32 array (crops of consecutive columns)."""
    def read(channels, rows, cols):
        crops = np.empty(rows.shape + cols.shape[1:], np.float32)
        starts = cols[:, 0]
        for start in np.unique(starts):
            same = np.flatnonzero(starts == start)
            crops[same] = array[channels[same, None], rows[same], start:start + cols.shape[1]]
        return crops
    return read


class BlockCache:
    """C maps of size (H, W) whose pixels are computed on first use, a block at a time, and kept.

    compute_blocks(channels (n,), bands (n,), columns (n,), out (n, BAND, block_width)) writes block
    (c, b, k) (rows [BAND b, ...), columns [block_width k, ...)) of map c into out. block_width defaults
    to BLOCK_COLUMNS when column crops are exact and the map is wider, else W. Computed blocks are stored
    one after the other in an array reserved for all blocks but uninitialised, so that only the pages of
    computed blocks are ever touched (first touches of fresh memory are slow).
    """

    def __init__(self, shape, compute_blocks, block_width=None):
        self.shape = tuple(shape)
        num_maps, height, width = self.shape
        if block_width is None:
            block_width = BLOCK_COLUMNS if width > BLOCK_COLUMNS and column_crops_are_exact() else width
        self.block_width = block_width
        self.grid = (-(-height // BAND), -(-width // block_width))                    # blocks down, across
        self._slot = np.full((num_maps,) + self.grid, -1, dtype=np.int64)          # block -> storage position
        self._blocks = np.empty((self._slot.size, BAND, block_width), np.float32)
        self._flat_blocks = self._blocks.reshape(-1)
        # log2 of the block width when it is a power of two: lookups then use shifts and masks (2x faster).
        self._column_shift = block_width.bit_length() - 1 if block_width & (block_width - 1) == 0 else None
        self._count = 0
        self._compute_blocks = compute_blocks

    def ensure_blocks(self, channels, bands, columns):
        """Compute the blocks (channel, band, column) not computed yet (arrays of one shape)."""
        keys = np.ravel_multi_index((np.asarray(channels, np.int64).ravel(), np.asarray(bands, np.int64).ravel(),
                                     np.asarray(columns, np.int64).ravel()), self._slot.shape)
        keys = np.unique(keys)
        keys = keys[self._slot.reshape(-1)[keys] < 0]
        if keys.size == 0:
            return
        end = self._count + len(keys)
        self._compute_blocks(*np.unravel_index(keys, self._slot.shape), out=self._blocks[self._count:end])
        self._slot.reshape(-1)[keys] = np.arange(self._count, end)
        self._count = end

    def blocks(self, channels, bands, columns):
        """(n, BAND, block_width) float32: whole blocks (channels, bands, columns) (n,), computed if needed."""
        self.ensure_blocks(channels, bands, columns)
        return self._blocks[self._slot[np.asarray(channels, np.int64), np.asarray(bands, np.int64),
                                       np.asarray(columns, np.int64)]]

    def crops(self, channels, rows, cols):
        """(n, R, K) float32: pixels at rows (n, R) x cols (n, K) of map channels (n,), each a run of
        consecutive rows and columns; the blocks they overlap are computed if needed."""
        first_band, last_band = rows[:, 0] // BAND, rows[:, -1] // BAND
        first_col, last_col = cols[:, 0] // self.block_width, cols[:, -1] // self.block_width
        bands = np.minimum(first_band[:, None, None] + np.arange(np.max(last_band - first_band) + 1)[None, :, None],
                           last_band[:, None, None])
        columns = np.minimum(first_col[:, None, None] + np.arange(np.max(last_col - first_col) + 1)[None, None, :],
                             last_col[:, None, None])
        self.ensure_blocks(*np.broadcast_arrays(channels[:, None, None], bands, columns))
        return self.lookup(channels[:, None, None], rows[:, :, None], cols[:, None, :])

    def ensure(self, channels, ys, xs):
        """Compute the blocks holding pixels (channels, ys, xs) (integer arrays that broadcast)."""
        channels, ys, xs = np.broadcast_arrays(np.asarray(channels, np.int64), np.asarray(ys, np.int64),
                                               np.asarray(xs, np.int64))
        self.ensure_blocks(channels, ys // BAND, xs // self.block_width)

    def lookup(self, channels, ys, xs):
        """The maps at computed pixels (channels, ys, xs) (broadcasting integer arrays), no computation."""
        ys, xs = np.asarray(ys, np.int64), np.asarray(xs, np.int64)
        channels, width = np.asarray(channels, np.int64), self.block_width
        if self._column_shift is None:
            slots = self._slot[channels, ys // BAND, xs // width]
            return self._flat_blocks[(slots * BAND + ys % BAND) * width + xs % width]
        shift = self._column_shift
        slots = self._slot[channels, ys >> BAND_SHIFT, xs >> shift]
        return self._flat_blocks[(((slots << BAND_SHIFT) | (ys & (BAND - 1))) << shift) | (xs & (width - 1))]

    def at(self, channels, ys, xs):
        """The maps at integer pixels (channels, ys, xs) (broadcasting integer arrays), float32."""
        self.ensure(channels, ys, xs)
        return self.lookup(channels, ys, xs)

    def channel(self, channel):
        """(H, W) float32: the whole map `channel`."""
        return self.at(channel, np.arange(self.shape[1])[:, None], np.arange(self.shape[2])[None, :])

    def stored_pixels(self, keep):
        """(channels, ys, xs) (n,) of the computed pixels whose value v has keep(v) true (v: float32 array)."""
        picked = np.flatnonzero(keep(self._blocks[:self._count]))
        slots, within = np.divmod(picked, BAND * self.block_width)
        row, col = np.divmod(within, self.block_width)
        order = np.zeros(self._count, np.int64)
        filled = np.flatnonzero(self._slot.reshape(-1) >= 0)
        order[self._slot.reshape(-1)[filled]] = filled
        channels, bands, columns = np.unravel_index(order[slots], self._slot.shape)
        ys, xs = bands * BAND + row, columns * self.block_width + col
        inside = (ys < self.shape[1]) & (xs < self.shape[2])
        return channels[inside], ys[inside], xs[inside]


# Bounds of upsampled values from the source maps (for pruned searches over the upsampled maps).
# A bilinear output is a convex combination of its input pixels, up to float rounding of a few units in
# the last place; bounds are widened by this relative margin (and a tiny absolute one) to cover it.
BOUND_MARGIN = 2.0 ** -16
BOUND_FLOOR = 1e-30


def widen_upper(bound):
    return bound + np.abs(bound) * np.float32(BOUND_MARGIN) + np.float32(BOUND_FLOOR)


def widen_lower(bound):
    return bound - np.abs(bound) * np.float32(BOUND_MARGIN) - np.float32(BOUND_FLOOR)


def _reduce_tiles_along(maximum, values, axis, tile, margin):
    """Maximum (or minimum) over tiles of `tile` entries along axis (-2 or -1) of values (a tensor), each
    widened by `margin` entries on both sides (clamped at the ends).

    The entries are first reduced in groups of g = gcd(tile, margin) (element-wise over strided slices);
    a tile is then k = tile / g groups, and its margin margin / g groups on each side, read from the
    (much smaller) grouped tensor. values' length along axis is a multiple of tile.
    """
    elementwise, reduce = (torch.maximum, torch.amax) if maximum else (torch.minimum, torch.amin)
    group = math.gcd(tile, margin) if margin else tile
    count = values.shape[axis] // tile
    if group <= 8:  # small groups: element-wise over strided slices (a reduction over a short axis is slow)
        index = [slice(None)] * values.dim()
        groups = None
        for offset in range(group):
            index[axis] = slice(offset, None, group)
            groups = values[tuple(index)] if groups is None else elementwise(groups, values[tuple(index)])
    else:
        before, after = values.shape[:values.dim() + axis], values.shape[values.dim() + axis + 1:]
        split = before + (count * tile // group, group) + after
        groups = reduce(values.reshape(split), dim=axis)
    per_tile = tile // group
    if per_tile == 1:  # no margin: the groups are the tiles
        result = groups
    else:
        split = groups.shape[:groups.dim() + axis] + (count, per_tile) + groups.shape[groups.dim() + axis + 1:]
        result = reduce(groups.reshape(split), dim=axis)
    starts = torch.arange(count) * per_tile
    for step in range(1, margin // group + 1):
        before = torch.clamp(starts - step, min=0)
        after = torch.clamp(starts + per_tile - 1 + step, max=groups.shape[axis] - 1)
        result = elementwise(result, groups.index_select(groups.dim() + axis, before))
        result = elementwise(result, groups.index_select(groups.dim() + axis, after))
    return result


def tile_reduce(ufunc, plane, tile, margin=0):
    """ufunc (np.maximum / np.minimum) over tiles of plane (..., H, W) -> (..., ceil(H/tile_h), ceil(W/tile_w)).

    tile: an int (square tiles) or (tile_h, tile_w); margin: each tile widened by `margin` pixels on every
    side, clamped at the map borders. Ragged border tiles are completed by repeating the edge values
    (which changes no maximum or minimum). Exact; NaN propagates. Computed with torch (vectorised, on
    the configured threads), rows first.
    """
    if ufunc not in (np.maximum, np.minimum):
        raise ValueError("tile_reduce: ufunc must be np.maximum or np.minimum")
    tile_h, tile_w = (tile, tile) if np.isscalar(tile) else tile
    height, width = plane.shape[-2:]
    rows = _edge_padded(np.ascontiguousarray(plane, dtype=np.float32), -height % tile_h, 0)
    rows = _reduce_tiles_along(ufunc is np.maximum, torch.from_numpy(rows), -2, tile_h, min(margin, height))
    # Columns are padded after the row pass (edge padding commutes with it), on a tile_h times smaller array.
    columns = torch.from_numpy(_edge_padded(rows.numpy(), 0, -width % tile_w))
    return _reduce_tiles_along(ufunc is np.maximum, columns, -1, tile_w, min(margin, width)).numpy()


def tile_reduce_channels_last(ufunc, maps, tile):
    """`tile_reduce` (no margin, square tiles) over the (H, W) axes of maps (H, W, C) -> (ceil(H/tile),
    ceil(W/tile), C), without moving the channels first (e.g. interleaved tag components): rows, then
    columns, each one torch reduction. Exact; NaN propagates; ragged borders repeat the edge values."""
    if ufunc not in (np.maximum, np.minimum):
        raise ValueError("tile_reduce_channels_last: ufunc must be np.maximum or np.minimum")
    reduce = torch.amax if ufunc is np.maximum else torch.amin
    height, width, channels = maps.shape
    padded = np.ascontiguousarray(maps, dtype=np.float32)
    if height % tile or width % tile:
        padded = np.pad(padded, ((0, -height % tile), (0, -width % tile), (0, 0)), mode="edge")
    tiles_down, tiles_across = padded.shape[0] // tile, padded.shape[1] // tile
    rows = reduce(torch.from_numpy(padded).view(tiles_down, tile, tiles_across * tile * channels), dim=1)
    return reduce(rows.view(tiles_down, tiles_across, tile, channels), dim=2).numpy()


def _edge_padded(array, pad_rows, pad_cols):
    """array (..., H, W) with its last row / column repeated pad_rows / pad_cols times (itself if both are 0)."""
    if not (pad_rows or pad_cols):
        return array
    return np.pad(array, [(0, 0)] * (array.ndim - 2) + [(0, pad_rows), (0, pad_cols)], mode="edge")


def upsampled_tile_bounds(plane, ufunc, factor, tile, margin=0):
    """Bounds (ufunc = np.maximum: upper, np.minimum: lower) over tiles of plane (..., h, w) upsampled by factor.

    factor: 1, or 2 / 4 for one / two successive 2x bilinear resizes; tile: tile side(s) in upsampled
    pixels (an int or (tile_h, tile_w)), multiples of factor; margin: also bound the upsampled pixels
    within `margin` pixels around each tile. Returns (..., ceil(factor h / tile_h), ceil(factor w / tile_w)).
    Output row Y of a 2x resize reads input rows floor(Y/2 - 1/4) and the next; following that through
    one or two resizes, the rows [tile t, tile t + tile) of the result read only source rows within one
    row of the block [tile t / factor, tile (t + 1) / factor), and likewise for columns (also after a
    mirror). So a tile is bounded by the source block widened by one pixel (plus the margin, in source
    pixels rounded up). Not widened for rounding (widen_upper / widen_lower do that).
    """
    tile_h, tile_w = (tile, tile) if np.isscalar(tile) else tile
    radius = -(-margin // factor) + (1 if factor > 1 else 0)
    return tile_reduce(ufunc, plane, (tile_h // factor, tile_w // factor), radius)
