"""Joint candidates: max-pool NMS and per-joint top-k (algorithm.md §6.5), fast path.

The NMS keeps a pixel whose value *equals* the maximum of its kernel x kernel window (plateaus keep
several pixels) and zeroes the others (`det * (pooled == det)`, so suppressed negatives become -0.0, as
officially). The window maximum is computed as a separable running maximum of shifted slices instead of
`torch.nn.MaxPool2d`: the values are identical (a maximum is exact), and it is much faster on CPU.
Faster path (TEST.FAST_DECODER, default on); `reference.top_k_reference` is the official formulation.
The decoder itself calls `top_k_above_threshold`, which examines only the pixels above the detection
threshold (the only candidates the grouping reads) and falls back to `top_k` when it cannot match it.
"""
import numpy as np
import torch
import torch.nn.functional as F
from higherhrnet.errors import ConfigError


def _check_window(kernel, padding):
    if kernel < 1 or padding < 0 or 2 * padding != kernel - 1:
        raise ConfigError(f"NMS kernel {kernel} / padding {padding}: the pooled map must keep the heatmap "
                          "size, i.e. padding == (kernel - 1) / 2 with an odd kernel (official: 5 / 2)")


def window_max(det, kernel, padding):
    """Max-pool of det (N, J, H, W) with a kernel x kernel window, stride 1 (same values as MaxPool2d).

    Separable: a running maximum of shifted slices along W, then along H, with -inf outside the map.
    """
    _check_window(kernel, padding)
    height, width = det.shape[2:]
    padded = F.pad(det, (padding, padding, padding, padding), value=float("-inf"))
    rows = padded[..., :, 0:width].clone()
    for shift in range(1, kernel):
        torch.maximum(rows, padded[..., :, shift:shift + width], out=rows)
    pooled = rows[..., 0:height, :].clone()
    for shift in range(1, kernel):
        torch.maximum(pooled, rows[..., shift:shift + height, :], out=pooled)
    return pooled


def nms(det, kernel=5, padding=2):
    """det (N, J, H, W) float32 with every pixel that is not its window's maximum set to (signed) zero."""
    keep = window_max(det, kernel, padding).eq_(det)  # 1.0 where the pixel is its window's maximum
    return keep.mul_(det)


def gather_top_k(det_nms, tags, max_people, tag_per_joint=True):
    """Top-`max_people` candidates per joint of NMS'd maps, as NumPy arrays (official `top_k` output).

    det_nms: (N, J, H, W); tags: (N, J, H, W, T), or (N, 1, H, W, T) when not tag_per_joint.
    Returns tag_k (N, J, K, T) float32, loc_k (N, J, K, 2) int64 with (x, y) = (idx % W, idx // W)
    integer pixel indices, val_k (N, J, K) float32 in descending order; K = max_people.
    """
    num_images, num_joints, height, width = det_nms.shape
    if tags.dim() != 5 or tags.shape[0] != num_images or tuple(tags.shape[2:4]) != (height, width):
        raise ValueError(f"tags must be (N, J, H, W, T) matching det {tuple(det_nms.shape)}, "
                         f"got {tuple(tags.shape)}")
    if max_people > height * width:
        raise ConfigError(f"max_people {max_people} exceeds the {height}x{width} heatmap pixels")
    val_k, index = det_nms.reshape(num_images, num_joints, -1).topk(max_people, dim=2)
    flat_tags = tags.reshape(num_images, tags.shape[1], height * width, -1)
    if not tag_per_joint:
        flat_tags = flat_tags.expand(-1, num_joints, -1, -1)
    tag_k = torch.stack([torch.gather(flat_tags[:, :, :, t], 2, index) for t in range(flat_tags.shape[3])],
                        dim=3)
    # y by floor division (algorithm.md §6.5 [M]): the official code truncated a true division, same values.
    loc_k = torch.stack((index % width, torch.div(index, width, rounding_mode="floor")), dim=3)
    return tag_k.cpu().numpy(), loc_k.cpu().numpy().astype(np.int64), val_k.cpu().numpy()


def top_k(det, tags, max_people=30, kernel=5, padding=2, tag_per_joint=True):
    """NMS then top-k: see `nms` and `gather_top_k` (det (N, J, H, W), tags (N, J|1, H, W, T))."""
    return gather_top_k(nms(det, kernel, padding), tags, max_people, tag_per_joint)


# The sparse search below gives up (dense `top_k` instead) when more than this share of pixels is above
# the detection threshold: beyond it the dense NMS is the cheaper one.
SPARSE_MAX_SHARE = 1 / 16


def _window_offsets(kernel):
    """(dy, dx) of a kernel x kernel window without its centre, nearest neighbours first."""
    radius = kernel // 2
    offsets = [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1) if dy or dx]
    return sorted(offsets, key=lambda offset: (max(abs(offset[0]), abs(offset[1])), abs(offset[0]) + abs(offset[1])))


def _local_maxima(read, joint, y, x, height, width, kernel):
    """Indices (into joint / y / x) of the pixels no neighbour of whose window is strictly larger.

    read(joints, ys, xs) -> values of the (J, H, W) map at those pixels (every pixel within the window
    of a pixel examined must be readable).
    """
    values = read(joint, y, x)
    survivors = np.arange(len(values))
    for dy, dx in _window_offsets(kernel):
        ny, nx = y[survivors] + dy, x[survivors] + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
        neighbour = read(joint[survivors], np.clip(ny, 0, height - 1), np.clip(nx, 0, width - 1))
        survivors = survivors[~(inside & (neighbour > values[survivors]))]
    return survivors


def _pixels_above(det, threshold, padding):
    """The pixels of det (1, J, H, W) with value > threshold, or None: (read, joint, y, x).

    read(joints, ys, xs) reads det (see `_local_maxima`); joint, y, x (n,) int64 are the pixels. None when
    too many pixels are above the threshold or the map holds NaN (the caller then runs the dense `top_k`).
    """
    num_joints, height, width = det.shape[1:]
    array = det.detach().cpu().numpy()[0]
    joint, pixel = np.divmod(np.flatnonzero(~(array <= threshold)), height * width)  # NaN is selected too
    y, x = np.divmod(pixel, width)
    read = lambda joints, ys, xs: array[joints, ys, xs]  # noqa: E731
    if joint.size > SPARSE_MAX_SHARE * num_joints * height * width or np.isnan(read(joint, y, x)).any():
        return None
    return read, joint, y, x


def top_k_above_threshold(det, tags, max_people=30, kernel=5, padding=2, tag_per_joint=True, threshold=0.1):
    """The candidates of `top_k` with val > threshold, found without NMS of the whole map (fast path).

    Same inputs and output arrays as `top_k` (one image). Entries with val > threshold (the only ones the
    grouping reads) equal those of `top_k`, in the same order; the other entries are zeros (top_k has
    arbitrary values <= threshold there). Only pixels above the threshold are examined: a pixel survives
    the max-pool NMS iff no pixel of its window is strictly larger, and the survivors of each joint are
    sorted by value. The order of equal values is torch.topk's own choice, so a joint whose first K + 1
    sorted values hold a tie is taken from `top_k` of that joint instead; so is everything when the map
    holds NaN, when threshold < 0, or when too many pixels are above the threshold.
    """
    _check_window(kernel, padding)
    num_images, num_joints, height, width = det.shape
    above = None
    if num_images == 1 and threshold >= 0 and max_people <= height * width:
        above = _pixels_above(det, threshold, padding)
    if above is None:
        return top_k(det, tags, max_people, kernel, padding, tag_per_joint)
    read, joint, y, x = above
    kept = _local_maxima(read, joint, y, x, height, width, kernel)
    joint, y, x = joint[kept], y[kept], x[kept]
    pixel, values = y * width + x, read(joint, y, x)

    order = np.lexsort((-values, joint))  # by joint, then descending value
    joint, pixel, values = joint[order], pixel[order], values[order]
    starts = np.searchsorted(joint, np.arange(num_joints + 1))
    rank = np.arange(len(joint)) - starts[joint]
    tied = np.zeros(num_joints, dtype=bool)
    equal_next = (values[1:] == values[:-1]) & (joint[1:] == joint[:-1]) & (rank[1:] <= max_people)
    tied[joint[1:][equal_next]] = True

    tag_dim = tags.shape[-1]
    tag_k = np.zeros((1, num_joints, max_people, tag_dim), np.float32)
    loc_k = np.zeros((1, num_joints, max_people, 2), np.int64)
    val_k = np.zeros((1, num_joints, max_people), np.float32)
    chosen = (rank < max_people) & ~tied[joint]
    joint, pixel, values, rank = joint[chosen], pixel[chosen], values[chosen], rank[chosen]
    y, x = np.divmod(pixel, width)
    val_k[0, joint, rank] = values
    loc_k[0, joint, rank, 0], loc_k[0, joint, rank, 1] = x, y
    tag_k[0, joint, rank] = tags.detach().cpu().numpy()[0, joint if tag_per_joint else 0, y, x]
    for tied_joint in np.flatnonzero(tied):
        joint_tags = tags[:, tied_joint:tied_joint + 1] if tag_per_joint else tags
        exact = top_k(det[:, tied_joint:tied_joint + 1], joint_tags, max_people, kernel, padding, tag_per_joint)
        tag_k[0, tied_joint], loc_k[0, tied_joint], val_k[0, tied_joint] = (array[0, 0] for array in exact)
    return tag_k, loc_k, val_k
