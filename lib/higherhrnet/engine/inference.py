"""The test-time pipeline for one image, as tools/valid.py runs it (algorithm.md §6.2-6.11).

    image (H, W, 3) uint8 RGB
      -> per test scale (descending): resize/align, normalise                  prepare()
      -> network on the input and on its mirror image                          forward()
      -> stage / flip aggregation, scale aggregation                           decode()
      -> NMS + top-k, grouping, adjust, scores, refine, back-projection        decode()
      -> persons (P, J, 3 + T) in image pixels (x, y, heatmap value, tags...) and person scores

`prepare` needs no model, so DataLoader workers can run it; `PosePipeline.__call__` runs everything.
The Predictor API, tools/valid.py, the demo and the benchmark all use this one class, so they give the
same poses. An optional `timings` dict collects seconds per step (for tools/benchmark.py).
"""
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np
import torch

from ..codec import (DecoderParams, accumulate_scale, aggregate_stage_outputs, finish_aggregation, get_final_preds,
                     get_multi_scale_size, parse, resize_align_multi_scale, scales_in_processing_order)
from ..data.image_io import to_input_tensor
from ..keypoints import layout_from_config
from .fast_network import FastNetwork
from .machine import warn_if_bf16_emulated


@dataclass
class InferenceSettings:
    """Everything the test pipeline reads from the config, as plain values (see `from_config`)."""
    input_size: int = 512
    scale_factors: Tuple[float, ...] = (1.0,)
    flip_test: bool = True
    flip_index: Tuple[int, ...] = ()
    num_joints: int = 17
    tag_per_joint: bool = True
    with_heatmaps_loss: Tuple[bool, ...] = (True, True)
    with_ae_loss: Tuple[bool, ...] = (True, False)
    test_with_heatmaps: Tuple[bool, ...] = (True, True)
    test_with_ae: Tuple[bool, ...] = (True, False)
    drop_center: bool = False
    project2image: bool = True
    decoder: DecoderParams = field(default_factory=DecoderParams)  # thresholds and switches of codec.parse
    amp: bool = False                             # fast mode (engine.fast_network): bfloat16 on CPU, float16 on CUDA
    batch_flip: bool = False                      # mirror image in the same batch: faster, not bit-exact
    channels_last: bool = False                   # channels-last weights and input of the fast mode (with amp)
    compile: bool = False                         # torch.compile the fast mode's network (eager fallback)

    @classmethod
    def from_config(cls, cfg, device=None, layout=None):
        """layout: the keypoint layout (flip index, grouping order); default `layout_from_config(cfg)`."""
        layout = layout if layout is not None else layout_from_config(cfg)
        with_center = bool(cfg.DATASET.WITH_CENTER)
        drop_center = with_center and bool(cfg.TEST.IGNORE_CENTER)
        amp = bool(cfg.TEST.AMP)
        if device is not None and device.type == "cuda" and cfg.FP16.ENABLED:
            amp = True  # official 640 configs evaluate in fp16 (algorithm.md §6.12); TEST.AMP covers other cases
        return cls(
            input_size=int(cfg.DATASET.INPUT_SIZE),
            scale_factors=tuple(float(s) for s in cfg.TEST.SCALE_FACTOR),
            flip_test=bool(cfg.TEST.FLIP_TEST),
            flip_index=tuple(layout.flip_index_with_center()),
            num_joints=int(cfg.DATASET.NUM_JOINTS),
            tag_per_joint=bool(cfg.MODEL.TAG_PER_JOINT),
            with_heatmaps_loss=tuple(cfg.LOSS.WITH_HEATMAPS_LOSS),
            with_ae_loss=tuple(cfg.LOSS.WITH_AE_LOSS),
            test_with_heatmaps=tuple(cfg.TEST.WITH_HEATMAPS),
            test_with_ae=tuple(cfg.TEST.WITH_AE),
            drop_center=drop_center,
            project2image=bool(cfg.TEST.PROJECT2IMAGE),
            decoder=DecoderParams.from_config(cfg, layout),
            amp=amp,
            batch_flip=bool(cfg.TEST.BATCH_FLIP),
            compile=bool(cfg.TEST.COMPILE),
            # oneDNN's bfloat16 and cuDNN's float16 convolutions are faster in channels-last layout.
            channels_last=amp,
        )


@dataclass
class PreparedImage:
    """Network inputs of one image at every test scale, and the geometry to map results back.

    inputs: [(scale_factor, input (1, 3, h_s, w_s) float32)], scales in processing (descending) order.
    base_size: (w, h) of the scale-1.0 input; center (2,) / scale (2,): the resize geometry (algorithm.md §6.2).
    """
    inputs: List[Tuple[float, torch.Tensor]]
    base_size: Tuple[int, int]
    center: np.ndarray
    scale: np.ndarray


def prepare(image, settings):
    """Resize/align and normalise `image` (H, W, 3) uint8 RGB at every test scale (no model needed)."""
    scales = scales_in_processing_order(settings.scale_factors)
    min_scale = min(scales)
    base_size, center, scale = get_multi_scale_size(image, settings.input_size, 1.0, min_scale)
    inputs = []
    for scale_factor in scales:
        image_resized, center, scale = resize_align_multi_scale(image, settings.input_size, scale_factor,
                                                                min_scale)
        inputs.append((scale_factor, to_input_tensor(image_resized).unsqueeze(0)))
    # The official code maps back with the centre/scale of the last processed scale.
    return PreparedImage(inputs, tuple(int(v) for v in base_size), center, scale)


class _Timer:
    """Adds wall-clock seconds of a block to timings[name] (no-op without a dict)."""

    def __init__(self, timings, name, sync_device=None):
        self.timings, self.name, self.sync_device = timings, name, sync_device

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        if self.timings is not None:
            if self.sync_device is not None and self.sync_device.type == "cuda":
                torch.cuda.synchronize(self.sync_device)
            self.timings[self.name] = self.timings.get(self.name, 0.0) + time.perf_counter() - self.start


class PosePipeline:
    """model + InferenceSettings -> per-image persons and scores. The model is put in eval mode.

    model: the torch network, or any object with `eval()` whose call maps an input (N, 3, H, W) float32
    tensor to the list of stage outputs (e.g. `export.OnnxNetwork`, an onnxruntime session).
    With settings.amp a torch network runs as its `FastNetwork` (BatchNorm folded, weights pre-cast to bfloat16
    on CPU / float16 on CUDA, channels-last, TEST.COMPILE optional): faster where the hardware computes the
    reduced dtype natively, not bit-exact. Without it the unmodified network computes the official float32.
    `self.model` is always the network as given; `self.network` is what forward() calls.
    """

    def __init__(self, model, settings, device):
        self.model = model.eval()
        self.settings = settings
        self.device = torch.device(device)
        self.network = self.model
        # channels-last without amp: only the input's layout changes (it propagates through the network)
        self.channels_last_input = settings.channels_last and not settings.amp and isinstance(model, torch.nn.Module)
        if settings.amp and isinstance(model, torch.nn.Module):
            if self.device.type == "cpu":
                warn_if_bf16_emulated()  # bfloat16: one warning per process where the CPU emulates it
            self.network = FastNetwork(model, self.device, channels_last=settings.channels_last,
                                       compile=settings.compile)

    @torch.inference_mode()
    def forward(self, network_input):
        """Network outputs for one scale: (outputs, outputs_flipped or None), lists of float32 (1, C, h, w)."""
        x = network_input.to(self.device, non_blocking=True)
        if self.channels_last_input:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.settings.flip_test and self.settings.batch_flip:
            both = self.network(torch.cat([x, torch.flip(x, [3])], dim=0))
            outputs = [o[:1].float().contiguous() for o in both]
            outputs_flipped = [o[1:].float().contiguous() for o in both]
        else:
            outputs = [o.float().contiguous() for o in self.network(x)]
            outputs_flipped = None
            if self.settings.flip_test:
                outputs_flipped = [o.float().contiguous() for o in self.network(torch.flip(x, [3]))]
        return outputs, outputs_flipped

    @torch.inference_mode()
    def aggregate(self, per_scale_outputs, base_size):
        """Decoder inputs (det (1, J, H, W), tags (1, J, H, W, T)) from [(scale, outputs, flipped)]."""
        s = self.settings
        final_heatmaps, tags_list = None, []
        for scale_factor, outputs, outputs_flipped in per_scale_outputs:
            heatmaps, tags = aggregate_stage_outputs(
                outputs, outputs_flipped, num_joints=s.num_joints, with_heatmaps_loss=s.with_heatmaps_loss,
                with_ae_loss=s.with_ae_loss, test_with_heatmaps=s.test_with_heatmaps, test_with_ae=s.test_with_ae,
                flip_index=s.flip_index if s.flip_test else None, tag_per_joint=s.tag_per_joint,
                drop_center=s.drop_center, project_to_size=base_size if s.project2image else None)
            final_heatmaps, tags_list = accumulate_scale(
                final_heatmaps, tags_list, heatmaps, tags, scale_factor=scale_factor,
                num_scales=len(s.scale_factors), flip_test=s.flip_test, project_to_image=s.project2image)
        return finish_aggregation(final_heatmaps, tags_list, len(s.scale_factors))

    def decode(self, det, tags, center, scale):
        """Persons in image pixels (list of (J, 3 + T) arrays) and their scores (list of floats)."""
        grouped, scores = parse(det, tags, self.settings.decoder)
        heatmap_size = (det.shape[3], det.shape[2])
        final_results = get_final_preds(grouped[0], center, scale, heatmap_size)
        return final_results, [float(v) for v in scores]

    def run_prepared(self, prepared, timings=None, maps=None):
        """Everything after `prepare`. timings: optional dict of seconds per step (forward, aggregate, decode).

        maps: optional dict that receives the decoder inputs, 'heatmaps' (1, J, H, W) and 'tags'
        (1, J, H, W, T) CPU tensors at the base size (for pictures of the maps).
        """
        per_scale = []
        with _Timer(timings, "forward", self.device):
            for scale_factor, network_input in prepared.inputs:
                outputs, outputs_flipped = self.forward(network_input)
                per_scale.append((scale_factor, outputs, outputs_flipped))
        with _Timer(timings, "aggregate", self.device):
            det, tags = self.aggregate(per_scale, prepared.base_size)
            det, tags = det.cpu(), tags.cpu()
        if maps is not None:
            maps.update(heatmaps=det, tags=tags)
        with _Timer(timings, "decode"):
            return self.decode(det, tags, prepared.center, prepared.scale)

    def __call__(self, image, timings=None):
        """image (H, W, 3) uint8 RGB -> (persons: list of (J, 3 + T) float32 arrays in image pixels, scores)."""
        with _Timer(timings, "prepare"):
            prepared = prepare(image, self.settings)
        return self.run_prepared(prepared, timings)
