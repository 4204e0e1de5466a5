"""Training batches in compact form: what DataLoader workers send, and its expansion in the training process.

A dense W32-512 sample is 8.5 MB (float32 input 3.1 MB, heatmaps 4.9 MB, masks 0.3 MB). Workers hand batches
to the training process through shared memory, whose pages are slow to fault in (on a small CPU machine this
can take longer than making the sample; tools/benchmark.py times both transfers). The compact form carries the
same information in about 1 MB: the input as uint8 RGB planes (normalised after the transfer,
`image_io.to_input_batch`), each heatmap stack as the pixels its Gaussian kernels write
(`HeatmapGenerator.points`), masks as uint8. `expand` rebuilds the dense batch bit for bit: table look-ups
copy the `to_input_tensor` values, and the heatmaps are zeros with the maximum of the written values per
pixel, exactly what `HeatmapGenerator` builds.

Flow: `CompactTrainSamples(dataset)[i]` -> CompactSample (in a worker); `collate_compact` -> CompactBatch (in
the worker); `CompactBatch.expand(device)` -> the dense batch on the device (in the training process, after
the transfer, so a GPU also receives the small form).
"""
from dataclasses import dataclass, fields
from typing import List, Tuple

import numpy as np
import torch
import torch.utils.data

from .image_io import to_input_batch
from ..codec.targets import heatmaps_from_points


@dataclass
class CompactSample:
    """One training sample (`KeypointTrainDataset.compact_item`), per output resolution s where listed.

    image: uint8 tensor (3, S, S), the augmented RGB planes; heatmap_points: [(flat_index int64 (n,),
    values float32 (n,))] from `HeatmapGenerator.points`; heatmap_shapes: [(J, R_s, R_s)]; masks: [uint8
    (R_s, R_s)] of 0/1; tag_targets: [int32 (P, J, 2)].
    """
    image: torch.Tensor
    heatmap_points: List[Tuple[np.ndarray, np.ndarray]]
    heatmap_shapes: List[Tuple[int, int, int]]
    masks: List[np.ndarray]
    tag_targets: List[np.ndarray]


@dataclass
class CompactBatch:
    """A batch of B CompactSamples as tensors, per output resolution s where listed.

    images: uint8 (B, 3, S, S); heatmap_index: [int64 (n_s,)] flat indices into the (B, J, R_s, R_s) stack;
    heatmap_values: [float32 (n_s,)]; heatmap_shapes: [(B, J, R_s, R_s)]; masks: [uint8 (B, R_s, R_s)];
    tag_targets: [int32 (B, P, J, 2)].
    """
    images: torch.Tensor
    heatmap_index: List[torch.Tensor]
    heatmap_values: List[torch.Tensor]
    heatmap_shapes: List[Tuple[int, int, int, int]]
    masks: List[torch.Tensor]
    tag_targets: List[torch.Tensor]

    def map_tensors(self, function):
        """A CompactBatch with function(tensor) applied to every tensor (shapes are kept as they are)."""
        changed = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, torch.Tensor):
                changed[field.name] = function(value)
            elif field.name != "heatmap_shapes":
                changed[field.name] = [function(tensor) for tensor in value]
            else:
                changed[field.name] = value
        return CompactBatch(**changed)

    def pin_memory(self):
        """Pinned copy (the DataLoader calls this when PIN_MEMORY is set)."""
        return self.map_tensors(lambda tensor: tensor.pin_memory())

    def expand(self, device):
        """(images float32 (B, 3, S, S), [heatmaps float32 (B, J, R_s, R_s)], [masks float32 (B, R_s, R_s)],
        [tag targets int32 (B, P, J, 2)]) on `device`: the batch the dense samples would have made.

        On CPU with NumPy and OpenCV, not torch: torch's parallel kernels here make the OpenMP threads of
        the training process spin against the DataLoader workers. Elsewhere with torch on the
        device. Both copy table entries, take maxima and convert 0/1, so they give the same bits.
        """
        if torch.device(device).type == "cpu":
            return self._expand_on_cpu()
        return self.expand_with_torch(device)

    def expand_with_torch(self, device):
        """`expand` by torch operations on `device` (any device; `expand` uses it off the CPU)."""
        on_device = self.map_tensors(lambda tensor: tensor.to(device, non_blocking=True))
        heatmaps = []
        for index, values, shape in zip(on_device.heatmap_index, on_device.heatmap_values, self.heatmap_shapes):
            maps = torch.zeros(shape, dtype=torch.float32, device=index.device)
            maps.view(-1).scatter_reduce_(0, index, values, reduce="amax")
            heatmaps.append(maps)
        masks = [mask.float() for mask in on_device.masks]
        return to_input_batch(on_device.images), heatmaps, masks, list(on_device.tag_targets)

    def _expand_on_cpu(self):
        heatmaps = [torch.from_numpy(heatmaps_from_points(index.numpy(), values.numpy(), shape))
                    for index, values, shape in zip(self.heatmap_index, self.heatmap_values, self.heatmap_shapes)]
        masks = [torch.from_numpy(mask.numpy().astype(np.float32)) for mask in self.masks]
        return to_input_batch(self.images), heatmaps, masks, list(self.tag_targets)


class CompactTrainSamples(torch.utils.data.Dataset):
    """A KeypointTrainDataset whose items are CompactSamples (`compact_item`); length and draws unchanged."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        return self.dataset.compact_item(index)


def collate_compact(samples):
    """CompactBatch of a list of CompactSamples (the DataLoader's collate_fn for CompactTrainSamples)."""
    heatmap_index, heatmap_values, heatmap_shapes = [], [], []
    for stage, shape in enumerate(samples[0].heatmap_shapes):
        per_sample = int(np.prod(shape))
        heatmap_index.append(torch.from_numpy(np.concatenate(
            [sample.heatmap_points[stage][0] + number * per_sample for number, sample in enumerate(samples)])))
        heatmap_values.append(torch.from_numpy(np.concatenate(
            [sample.heatmap_points[stage][1] for sample in samples])))
        heatmap_shapes.append((len(samples),) + tuple(shape))
    return CompactBatch(
        images=torch.stack([sample.image for sample in samples]),
        heatmap_index=heatmap_index, heatmap_values=heatmap_values, heatmap_shapes=heatmap_shapes,
        masks=[torch.from_numpy(np.stack(masks)) for masks in zip(*(sample.masks for sample in samples))],
        tag_targets=[torch.from_numpy(np.stack(targets))
                     for targets in zip(*(sample.tag_targets for sample in samples))])


def batch_on_device(batch, device):
    """(images, [heatmaps], [masks], [tag targets]) on `device` from a CompactBatch or a dense batch tuple."""
    if isinstance(batch, CompactBatch):
        return batch.expand(device)
    images, heatmaps, masks, tag_targets = batch
    return (images.to(device, non_blocking=True), *([tensor.to(device, non_blocking=True) for tensor in group]
                                                    for group in (heatmaps, masks, tag_targets)))
