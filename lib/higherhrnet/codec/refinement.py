"""After grouping: quarter-pixel adjust, person scores and refine (algorithm.md §6.7-6.9), fast vectorised path.

Coordinates: a grouped joint (x, y) is an integer heatmap pixel index (column, row). Adjust and refine
return pixel-centre coordinates `x + 0.5 +- 0.25`: +0.25 toward the strictly larger horizontal (vertical)
neighbour, -0.25 on ties and at clamped borders.

Faster path (TEST.FAST_DECODER, default on; NumPy, like the official code): adjust is vectorised over
all joints; refine scores only the missing joints (the official code scores every joint of every person
on the full map), first on the hottest pixels of each map, where a bound proves the answer for most
joints, then only on the 16 x 16 tiles whose bound (largest heat, nearest tag) can still beat the best
score found; one joint map at a time, for all persons missing that joint at once.
The outputs equal the official loops (`reference.py`) bit for bit: the same float32 operations in the
same order, NumPy's float32 square root, and first-occurrence argmax in row-major order.
"""
import numpy as np
import torch


QUARTER = np.float32(0.25)
HALF = np.float32(0.5)
# Refine first searches this many hottest pixels per joint map, then the tiles that may hold better.
REFINE_HOT_PIXELS = 2048
REFINE_LEVEL_SAMPLES = 4096
# Tiles of the bounded second search (pixels per side).
REFINE_TILE = 16
# Whole-map searches run in chunks of this many pixels (bounds the memory of refine).
REFINE_CHUNK_PIXELS = 1 << 22


def _quarter_steps(det, joints, xs, ys):
    """+0.25 / -0.25 offsets along x and y for integer pixels (joints, ys, xs) of det (J, H, W)."""
    height, width = det.shape[1:]
    right = det[joints, ys, np.minimum(xs + 1, width - 1)]
    left = det[joints, ys, np.maximum(xs - 1, 0)]
    below = det[joints, np.minimum(ys + 1, height - 1), xs]
    above = det[joints, np.maximum(ys - 1, 0), xs]
    step_x = np.where(right > left, QUARTER, -QUARTER)
    step_y = np.where(below > above, QUARTER, -QUARTER)
    return step_x, step_y


def adjust(persons, det):
    """Quarter-pixel adjust of every joint with val > 0 (algorithm.md §6.7); missing joints stay at (0, 0).

    persons: (P, J, 3 + T) float32 from `match_by_tag`; det: (J, H, W) float32 aggregated heatmaps of
    the image (before NMS). Returns a new float32 array with x' = (x +- 0.25) + 0.5, y' likewise.
    """
    det = _as_numpy(det)
    adjusted = np.array(persons, dtype=np.float32, copy=True)
    person_ids, joints = np.nonzero(adjusted[:, :, 2] > 0)
    if person_ids.size == 0:
        return adjusted
    x = adjusted[person_ids, joints, 0]
    y = adjusted[person_ids, joints, 1]
    step_x, step_y = _quarter_steps(det, joints, x.astype(np.int64), y.astype(np.int64))
    adjusted[person_ids, joints, 0] = (x + step_x) + HALF
    adjusted[person_ids, joints, 1] = (y + step_y) + HALF
    return adjusted


def person_scores(persons):
    """Person score = mean of the J joint values, missing joints as 0 (algorithm.md §6.8): list of np.float32."""
    return [person[:, 2].mean() for person in persons]


def _as_numpy(array):
    if isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    return np.asarray(array)


def person_tag(person, tags):
    """Mean tag (T,) float32 of a person's joints with val > 0, read at their truncated (x, y) pixels.

    tags: (J, H, W, T) array.
    """
    detected = np.nonzero(person[:, 2] > 0)[0]
    xy = person[detected, :2].astype(np.int32)
    return np.mean(tags[detected, xy[:, 1], xy[:, 0]], axis=0)


def _rounded_tag_distance(differences):
    """round_half_even(||d||) per element, computed as the official NumPy code does: float32 array.

    differences: list of T float32 arrays of one shape (the T components of tag - tau). Squares are
    summed in NumPy's order (sequential below 8 components, NumPy's own sum beyond); the root is NumPy's
    correctly rounded float32 sqrt (torch's vectorised float32 sqrt is not always correctly rounded).
    """
    if len(differences) < 8:
        squared = differences[0] * differences[0]
        for component in differences[1:]:
            squared = squared + component * component
    else:
        squared = (np.stack(differences, axis=-1) ** 2).sum(axis=-1)
    return np.round(np.sqrt(squared))


def _scores(heat, tag_values, mean_tags):
    """det - round(||tag - tau||): heat (n,), tag_values (n, T), mean_tags (m, T) -> (m, n) float32."""
    differences = [tag_values[None, :, t] - mean_tags[:, t:t + 1] for t in range(tag_values.shape[1])]
    return heat[None, :] - _rounded_tag_distance(differences)


def _hot_level(heat, hot_pixels):
    """A heat level with roughly `hot_pixels` pixels at or above it, estimated on a regular sample."""
    sample = np.sort(heat[::max(1, heat.size // REFINE_LEVEL_SAMPLES)])
    from_top = min(sample.size, max(1, round(sample.size * hot_pixels / heat.size)))
    return sample[sample.size - from_top]


def tile_extremes(ufunc, maps, tile):
    """ufunc (np.maximum / np.minimum) over square tiles of the (H, W) axes of maps (H, W, C) float32 ->
    (ceil(H/tile), ceil(W/tile), C): rows, then columns, each one torch reduction. Exact; NaN propagates;
    ragged border tiles are completed by repeating the edge values (which changes no maximum or minimum)."""
    if ufunc not in (np.maximum, np.minimum):
        raise ValueError("tile_extremes: ufunc must be np.maximum or np.minimum")
    reduce = torch.amax if ufunc is np.maximum else torch.amin
    height, width, channels = maps.shape
    padded = np.ascontiguousarray(maps, dtype=np.float32)
    if height % tile or width % tile:
        padded = np.pad(padded, ((0, -height % tile), (0, -width % tile), (0, 0)), mode="edge")
    tiles_down, tiles_across = padded.shape[0] // tile, padded.shape[1] // tile
    rows = reduce(torch.from_numpy(padded).view(tiles_down, tile, tiles_across * tile * channels), dim=1)
    return reduce(rows.view(tiles_down, tiles_across, tile, channels), dim=2).numpy()


def _upper_bounds(heat_max, tag_min, tag_max, mean_tag):
    """Upper bounds of the score heat - round(||tag - tau||) over tiles, float32 (tiles_y, tiles_x).

    heat_max: the tiles' largest heat values; tag_min / tag_max: lists of T arrays, each tag component's
    range per tile; mean_tag (T,): tau. The nearest point of each tile's tag box goes through the same
    float32 formula as a pixel; every step of it is monotonic, so no pixel of the tile gets a smaller
    rounded distance.
    """
    zero = np.float32(0)
    gaps = [np.maximum(np.maximum(low - tau, tau - high), zero) for low, high, tau in zip(tag_min, tag_max, mean_tag)]
    return heat_max - _rounded_tag_distance(gaps)


class _TileBounds:
    """Per-tile bounds of one joint map (H, W): the largest heat value and each tag component's range.

    shape: (H, W); tiles of `tile` x `tile` pixels (smaller at the borders); heat_max (ceil(H/tile),
    ceil(W/tile)) float32 and tag_min / tag_max, lists of T such arrays: no pixel of a tile exceeds them.
    """

    def __init__(self, shape, tile, heat_max, tag_min, tag_max):
        self.shape, self.tile = tuple(shape), tile
        self.heat_max, self.tag_min, self.tag_max = heat_max, tag_min, tag_max

    @classmethod
    def of_maps(cls, heat, tags, tile):
        """Exact bounds of heat (H, W) and tags (H, W, T) float32 maps (tags reduced in their own layout)."""
        tag_min, tag_max = (tile_extremes(ufunc, tags, tile) for ufunc in (np.minimum, np.maximum))
        return cls(heat.shape, tile, tile_extremes(np.maximum, heat[..., None], tile)[..., 0],
                   list(np.moveaxis(tag_min, 2, 0)), list(np.moveaxis(tag_max, 2, 0)))

    def upper_bounds(self, mean_tag):
        """(tiles_y, tiles_x) float32 values no pixel's score heat - round(||tag - tau||) can exceed."""
        return _upper_bounds(self.heat_max, self.tag_min, self.tag_max, mean_tag)

    def before(self, pixel):
        """bool (tiles_y, tiles_x): the tiles holding a pixel that comes before flat `pixel` in row-major order."""
        row, col = divmod(int(pixel), self.shape[1])
        tops = np.arange(self.heat_max.shape[0]) * self.tile
        lefts = np.arange(self.heat_max.shape[1]) * self.tile
        return (tops < row)[:, None] | ((tops == row)[:, None] & (lefts < col)[None, :])

    def pixels(self, tiles):
        """Flat row-major indices of the pixels of the selected tiles (bool (tiles_y, tiles_x)), tile by tile."""
        height, width = self.shape
        tile_y, tile_x = np.nonzero(tiles)
        within_y, within_x = np.divmod(np.arange(self.tile * self.tile), self.tile)
        rows = tile_y[:, None] * self.tile + within_y
        cols = tile_x[:, None] * self.tile + within_x
        if height % self.tile or width % self.tile:
            inside = (rows < height) & (cols < width)
            return rows[inside] * width + cols[inside]
        return (rows * width + cols).reshape(-1)


def _best_pixels(heat, tag_values, mean_tags, hot_pixels, shape_hw):
    """First row-major argmax of heat - round(||tag - tau||) for each tau, over one joint's map.

    heat (H*W,) float32, tag_values (H*W, T) float32, mean_tags (m, T) float32, shape_hw = (H, W)
    -> flat indices (m,). Pruned search on maps of more than 4 * hot_pixels pixels:
    1. Score the hot pixels (heat >= level, row-major order). A pixel's score never exceeds its heat, so
       where the best of them scores >= level it is the exact answer (most joints of real maps).
    2. Otherwise the best score s found so far (at pixel b) is a lower bound. A tile can hold the answer
       only if its upper bound (`_TileBounds`) is > s, or == s while it has a pixel before b in row-major
       order (an equal score there would come first). Those tiles are scored and the first maximum kept.
       When the hot set is most of the map (flat maps), step 1 is skipped and the tile with the largest
       bound gives s and b.
    Without finite maps (NaN / inf prove nothing) or on small maps, the whole map is scored.
    """
    best = np.zeros(len(mean_tags), dtype=np.int64)
    if heat.size <= 4 * hot_pixels or not np.isfinite(heat.sum() + tag_values.sum()):
        chunk = max(1, REFINE_CHUNK_PIXELS // heat.size)
        for start in range(0, len(mean_tags), chunk):
            best[start:start + chunk] = np.argmax(_scores(heat, tag_values, mean_tags[start:start + chunk]), axis=1)
        return best

    unproven, seeds = np.arange(len(mean_tags)), {}
    level = _hot_level(heat, hot_pixels)
    hot = np.flatnonzero(heat >= level)
    if hot.size <= 4 * hot_pixels:
        score = _scores(heat[hot], tag_values[hot], mean_tags)
        position = np.argmax(score, axis=1)  # first maximum
        lower = score[np.arange(len(position)), position]
        proven = lower >= level
        best[proven] = hot[position[proven]]
        unproven = np.nonzero(~proven)[0]
        seeds = {person: (lower[person], hot[position[person]]) for person in unproven}
    if len(unproven) == 0:
        return best
    bounds = _TileBounds.of_maps(heat.reshape(shape_hw), tag_values.reshape(shape_hw + (-1,)), REFINE_TILE)
    for person in unproven:
        tau = mean_tags[person:person + 1]
        upper = bounds.upper_bounds(tau[0])
        if person in seeds:
            best_score, best_pixel = seeds[person]
        else:
            first_tile = np.zeros(upper.shape, dtype=bool)
            first_tile[np.unravel_index(np.argmax(upper), upper.shape)] = True
            pixels = bounds.pixels(first_tile)
            score = _scores(heat[pixels], tag_values[pixels], tau)[0]
            best_score = score.max()
            best_pixel = pixels[score == best_score].min()
        pixels = bounds.pixels((upper > best_score) | ((upper == best_score) & bounds.before(best_pixel)))
        if pixels.size:
            score = _scores(heat[pixels], tag_values[pixels], tau)[0]
            top = score.max()
            if top > best_score:
                best_score, best_pixel = top, pixels[score == top].min()
            elif top == best_score:
                best_pixel = min(best_pixel, pixels[score == top].min())
        best[person] = best_pixel
    return best


def refine(persons, det, tags, hot_pixels=REFINE_HOT_PIXELS):
    """Fill each person's missing joints with its best tag-compatible location (algorithm.md §6.9).

    persons: (P, J, 3 + T) float32 (normally after `adjust`); det: (J, H, W) float32 heatmaps; tags:
    (J, H, W, T) float32 tag maps (tile a shared map J times first). For a missing joint (val == 0) of a
    person with mean tag tau, the candidate is the first row-major argmax of
    det[j] - round(||tags[j] - tau||) (half-to-even, no x100); it is taken if its heat value is > 0, at
    (x + 0.5 +- 0.25, y + 0.5 +- 0.25).
    Tag columns of filled joints stay 0. Returns a new float32 array. hot_pixels: size of the first,
    pruned search (a speed setting only; the result does not depend on it).
    Deliberate difference: a person without any joint with val > 0 has no tag and is left unchanged
    (the official code crashes on it; it cannot come out of `match_by_tag` with a positive threshold).
    """
    det = np.ascontiguousarray(_as_numpy(det), dtype=np.float32)
    tags = np.ascontiguousarray(_as_numpy(tags), dtype=np.float32)
    if tags.ndim == 3:
        tags = tags[..., None]
    refined = np.array(persons, dtype=np.float32, copy=True)
    anchored = (refined[:, :, 2] > 0).any(axis=1)
    person_ids, joints = np.nonzero((refined[:, :, 2] == 0) & anchored[:, None])
    if person_ids.size == 0:
        return refined
    num_joints, height, width = det.shape
    tag_dim = tags.shape[-1]
    person_mean_tags = np.zeros((len(refined), tag_dim), np.float32)
    for index in np.nonzero(anchored)[0]:
        person_mean_tags[index] = person_tag(refined[index], tags)
    mean_tags = person_mean_tags[person_ids]

    det_maps = det.reshape(num_joints, height * width)
    tag_maps = tags.reshape(num_joints, height * width, tag_dim)
    best = np.empty(len(joints), dtype=np.int64)
    for joint in np.unique(joints):  # all persons missing this joint at once
        pairs = np.nonzero(joints == joint)[0]
        best[pairs] = _best_pixels(det_maps[joint], tag_maps[joint], mean_tags[pairs], hot_pixels,
                                   (height, width))

    ys, xs = np.divmod(best, width)
    values = det[joints, ys, xs]
    step_x, step_y = _quarter_steps(det, joints, xs, ys)
    fill = values > 0
    person_ids, joints = person_ids[fill], joints[fill]
    refined[person_ids, joints, 0] = (xs[fill] + 0.5) + step_x[fill].astype(np.float64)
    refined[person_ids, joints, 1] = (ys[fill] + 0.5) + step_y[fill].astype(np.float64)
    refined[person_ids, joints, 2] = values[fill]
    return refined
