"""Joint candidates: max-pool NMS and per-joint top-k (SPEC 6.5), fast path.

The NMS keeps a pixel whose value *equals* the maximum of its kernel x kernel window (plateaus keep
several pixels) and zeroes the others (`det * (pooled == det)`, so suppressed negatives become -0.0, as
officially). The window maximum is computed as a separable running maximum of shifted slices instead of
`torch.nn.MaxPool2d`: the values are identical (a maximum is exact), and it is much faster on CPU.
Faster path (TEST.FAST_DECODER, default on); `reference.top_k_reference` is the official formulation.
"""
import numpy as np
import torch
import torch.nn.functional as F


def _check_window(kernel, padding):
    if kernel < 1 or padding < 0 or 2 * padding != kernel - 1:
        raise ValueError(f"NMS kernel {kernel} / padding {padding}: the pooled map must keep the heatmap "
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
        raise ValueError(f"max_people {max_people} exceeds the {height}x{width} heatmap pixels")
    val_k, index = det_nms.reshape(num_images, num_joints, -1).topk(max_people, dim=2)
    flat_tags = tags.reshape(num_images, tags.shape[1], height * width, -1)
    if not tag_per_joint:
        flat_tags = flat_tags.expand(-1, num_joints, -1, -1)
    tag_k = torch.stack([torch.gather(flat_tags[:, :, :, t], 2, index) for t in range(flat_tags.shape[3])],
                        dim=3)
    # y by floor division (SPEC 6.5 [M]): the official code truncated a true division, same values.
    loc_k = torch.stack((index % width, torch.div(index, width, rounding_mode="floor")), dim=3)
    return tag_k.cpu().numpy(), loc_k.cpu().numpy().astype(np.int64), val_k.cpu().numpy()


def top_k(det, tags, max_people=30, kernel=5, padding=2, tag_per_joint=True):
    """NMS then top-k: see `nms` and `gather_top_k` (det (N, J, H, W), tags (N, J|1, H, W, T))."""
    return gather_top_k(nms(det, kernel, padding), tags, max_people, tag_per_joint)
