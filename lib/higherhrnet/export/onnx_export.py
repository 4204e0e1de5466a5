"""ONNX export of the network, optionally with the first test-time steps in the graph, and its validation.

Two graphs, both with a dynamic batch, height and width (H and W multiples of 32; the test resize gives
multiples of 64):

* raw network (default): input `image` (N, 3, H, W), the normalised RGB input of `data.image_io`;
  outputs `stage0`, `stage1`, ... exactly as the torch network (official: stage0 (N, 2J, H/4, W/4) =
  J heatmaps then J tag maps, stage1 (N, J, H/2, W/2) heatmaps). This is what `Predictor(backend='onnx')`
  runs, inside the unchanged pipeline (flip pass, aggregation, grouping happen outside the graph).
* with postprocess (`NetworkWithPostprocess`, tools/export_onnx.py --with-postprocess): one test scale,
  no flip. Outputs `heatmaps` (N, J, h, w) = the mean of the stage heatmaps at the finest stage's
  resolution (algorithm.md §6.3, earlier stages bilinearly upsampled), `tags` (N, J, h, w, T) = the tag maps of
  the stages with TEST.WITH_AE at that resolution, and `heatmaps_nms` = heatmaps with every pixel that is
  not the maximum of its NMS_KERNEL window set to 0 (the max-pool NMS of algorithm.md §6.5). A runtime outside
  Python then only needs top-k, grouping and the back-projection.

Both carry the keypoint layout (joint names, flip index and pairs, skeleton, OKS sigmas, grouping order,
centre joint) as JSON in their metadata_props when `export_onnx` is given one (`export.layout_metadata`).

Export uses PyTorch's TorchScript exporter (`torch.onnx.export(..., dynamo=False)`): the dynamo exporter
needs the `onnxscript` package, which is not a dependency.
"""
import copy
import os
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from higherhrnet.errors import ConfigError, UsageError, import_optional
from higherhrnet.codec import aggregate_stage_outputs
from higherhrnet.export.layout_metadata import write_layout
from higherhrnet.export.names import INPUT_NAME, POSTPROCESS_OUTPUT_NAMES, raw_output_names
from higherhrnet.export.onnx_runtime import OnnxNetwork

DEFAULT_OPSET = 17


def _cpu_copy_for_export(module):
    """An eval-mode CPU copy of `module`: the caller's model keeps its device and its train/eval mode."""
    return copy.deepcopy(module).cpu().eval()


class NetworkWithPostprocess(torch.nn.Module):
    """network -> (heatmaps (N, J, h, w), tags (N, J, h, w, T), heatmaps_nms (N, J, h, w)) for one scale, no flip.

    Stage switches and NMS window as in `engine.inference.InferenceSettings` (see `from_settings`).
    """

    def __init__(self, network, *, num_joints, with_heatmaps_loss, with_ae_loss, test_with_heatmaps, test_with_ae,
                 tag_per_joint=True, drop_center=False, nms_kernel=5, nms_padding=2):
        super().__init__()
        if not any(a and t for a, t in zip(with_ae_loss, test_with_ae)):
            raise ConfigError("postprocess export: no stage has both an AE loss and TEST.WITH_AE, so there are no tags")
        if nms_kernel < 1 or 2 * nms_padding != nms_kernel - 1:
            raise ConfigError(f"postprocess export: NMS kernel {nms_kernel} / padding {nms_padding} must keep the "
                              "map size (padding == (kernel - 1) / 2, official 5 / 2)")
        self.network = network
        self.num_joints = int(num_joints)
        self.switches = dict(with_heatmaps_loss=tuple(with_heatmaps_loss), with_ae_loss=tuple(with_ae_loss),
                             test_with_heatmaps=tuple(test_with_heatmaps), test_with_ae=tuple(test_with_ae))
        self.tag_per_joint = bool(tag_per_joint)
        self.drop_center = bool(drop_center)
        self.nms_kernel, self.nms_padding = int(nms_kernel), int(nms_padding)

    @classmethod
    def from_settings(cls, network, settings):
        """Wrap `network` with the switches of an `InferenceSettings`."""
        return cls(network, num_joints=settings.num_joints, with_heatmaps_loss=settings.with_heatmaps_loss,
                   with_ae_loss=settings.with_ae_loss, test_with_heatmaps=settings.test_with_heatmaps,
                   test_with_ae=settings.test_with_ae, tag_per_joint=settings.tag_per_joint,
                   drop_center=settings.drop_center, nms_kernel=settings.decoder.nms_kernel,
                   nms_padding=settings.decoder.nms_padding)

    def forward(self, images):
        outputs = self.network(images)
        heatmaps, tags = aggregate_stage_outputs(
            outputs, None, num_joints=self.num_joints, tag_per_joint=self.tag_per_joint,
            drop_center=self.drop_center, project_to_size=None, **self.switches)
        heatmaps = heatmaps[0]
        return heatmaps, torch.stack(tags, dim=4), self.suppress(heatmaps)

    def suppress(self, heatmaps):
        """Max-pool NMS: heatmaps (N, J, h, w) with non-maxima of each window set to 0 (= codec.candidates.nms)."""
        pooled = F.max_pool2d(heatmaps, self.nms_kernel, stride=1, padding=self.nms_padding)
        return heatmaps * torch.eq(pooled, heatmaps).to(heatmaps.dtype)


def export_onnx(module, path, *, example_size_hw=(256, 256), opset_version=DEFAULT_OPSET, layout=None):
    """Export `module` (the network, or a `NetworkWithPostprocess`) to `path` with dynamic N, H, W; returns path.

    An eval-mode CPU copy of the module is traced on a zero input (1, 3, *example_size_hw); the
    ONNX model is checked with `onnx.checker`. Output names: `raw_output_names` or POSTPROCESS_OUTPUT_NAMES.
    layout: the `keypoints.KeypointLayout` of the network's joints, written into the model's metadata_props
    (`export.layout_metadata`); None writes none.
    """
    onnx = import_optional("onnx", "onnx")

    path = os.fspath(path)
    module = _cpu_copy_for_export(module)
    height, width = (int(v) for v in example_size_hw)
    if height % 32 or width % 32:
        raise UsageError(f"example size {height}x{width}: height and width must be multiples of 32")
    example = torch.zeros(1, 3, height, width)
    if layout is not None and isinstance(module, NetworkWithPostprocess) and layout.num_joints != module.num_joints:
        raise ValueError(f"keypoint layout of {layout.num_joints} joint channels for a network of "
                         f"{module.num_joints}")
    if isinstance(module, NetworkWithPostprocess):
        output_names = list(POSTPROCESS_OUTPUT_NAMES)
        dynamic_axes = {name: {0: "batch", 2: "map_height", 3: "map_width"} for name in output_names}
    else:
        with torch.no_grad():
            num_stages = len(module(example))
        output_names = raw_output_names(num_stages)
        dynamic_axes = {name: {0: "batch", 2: f"{name}_height", 3: f"{name}_width"} for name in output_names}
    dynamic_axes[INPUT_NAME] = {0: "batch", 2: "height", 3: "width"}
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with warnings.catch_warnings():
        # The TorchScript exporter announces its own deprecation; nothing the user can act on here.
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        warnings.filterwarnings("ignore", message=".*feature will be removed.*")
        with torch.no_grad():
            torch.onnx.export(module, (example,), path, dynamo=False, input_names=[INPUT_NAME],
                              output_names=output_names, dynamic_axes=dynamic_axes, opset_version=opset_version,
                              do_constant_folding=True)
    if layout is not None:
        write_layout(path, layout)
    onnx.checker.check_model(path)
    return path


def compare_with_torch(onnx_path, module, inputs, threads=0):
    """Run the ONNX model and the torch `module` on each input; returns one dict per input.

    inputs: (N, 3, H, W) float32 tensors. Each dict maps the ONNX output name to the max absolute
    difference between onnxruntime and PyTorch (float), plus 'input_shape'. Exception: `heatmaps_nms` is
    compared with the torch NMS of the ONNX `heatmaps`, since neighbours equal up to float noise make the
    kept pixels of two runtimes differ legitimately.
    """
    session = OnnxNetwork(onnx_path, threads=threads, raw_network_only=False)
    module = _cpu_copy_for_export(module)
    reports = []
    for network_input in inputs:
        with torch.no_grad():
            expected = module(network_input)
        actual = session(network_input)
        if len(actual) != len(expected):
            raise ValueError(f"{onnx_path}: {len(actual)} outputs, the torch module gives {len(expected)}")
        report = {"input_shape": tuple(network_input.shape)}
        for name, ours, theirs in zip(session.output_names, actual, expected):
            if tuple(ours.shape) != tuple(theirs.shape):
                raise ValueError(f"{onnx_path}: output {name} has shape {tuple(ours.shape)}, "
                                 f"torch gives {tuple(theirs.shape)}")
            if name == "heatmaps_nms" and isinstance(module, NetworkWithPostprocess):
                theirs = module.suppress(actual[0])
            report[name] = float(np.abs(ours.numpy() - theirs.float().numpy()).max()) if ours.numel() else 0.0
        reports.append(report)
    return reports
