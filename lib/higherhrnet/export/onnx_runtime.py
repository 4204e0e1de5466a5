"""An onnxruntime session that stands in for the torch network inside `engine.inference.PosePipeline`.

`OnnxNetwork(path)(images)` takes the same (N, 3, H, W) float32 tensor as the torch network and returns
the same list of per-stage outputs, as float32 tensors on the input's device. Everything around it (test
resize, flip pass, stage / flip / scale aggregation, grouping, back-projection) is the unchanged torch /
NumPy pipeline, so the poses differ from the torch backend only by the network's float differences.
"""
import os

import numpy as np
import torch

from higherhrnet.export.layout_metadata import layout_from_metadata
from higherhrnet.export.names import POSTPROCESS_OUTPUT_NAMES, raw_output_names
from higherhrnet.errors import UsageError, UserError, import_optional


class OnnxModelError(UserError, ValueError):
    """An ONNX file is missing, unreadable, or not a raw network export matching the config."""


def network_output_channels(num_joints, tag_per_joint, with_ae_loss):
    """Channels of each stage output of the official network: J heatmaps, then J (or 1) tag maps with an AE loss.

    num_joints: MODEL.NUM_JOINTS; with_ae_loss: LOSS.WITH_AE_LOSS, one entry per stage.
    """
    tag_channels = num_joints if tag_per_joint else 1
    return [num_joints + (tag_channels if with_ae else 0) for with_ae in with_ae_loss]


class OnnxNetwork:
    """Callable like the torch network: images (N, 3, H, W) float32 -> [stage outputs (N, C_s, H_s, W_s)].

    path: a raw-network export of `export_onnx` (not one made with the postprocess outputs).
    expected_channels: optional channels per stage (`network_output_channels` of the config); a
      mismatch raises OnnxModelError at construction instead of wrong poses later.
    device: outputs are moved to this torch device; onnxruntime uses CUDA only when it is 'cuda' and the
      CUDA execution provider is installed, else the CPU.
    threads: onnxruntime intra-op threads (0 = onnxruntime's choice).
    raw_network_only: refuse a graph exported with the postprocess outputs (the pipeline needs the raw
      stage outputs); False lets `compare_with_torch` run any exported graph.
    session_config: optional onnxruntime session config entries, e.g. {'session.set_denormal_as_zero': '1'}.
    After construction `layout` is the keypoint layout of the model's metadata (a `keypoints.KeypointLayout`),
    or None for a model exported without one.
    """

    def __init__(self, path, expected_channels=None, device="cpu", threads=0, raw_network_only=True,
                 session_config=None):
        onnxruntime = import_optional("onnxruntime", "onnx")

        path = os.fspath(path)
        if not os.path.isfile(path):
            raise OnnxModelError(f"{path}: ONNX model file not found")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.log_severity_level = 3
        for key, value in (session_config or {}).items():
            options.add_session_config_entry(str(key), str(value))
        providers = ["CPUExecutionProvider"]
        self.device = torch.device(device)
        if self.device.type == "cuda" and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = onnxruntime.InferenceSession(path, options, providers=providers)
        except Exception as error:  # onnxruntime raises its own exception types for unreadable models
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise OnnxModelError(f"{path}: not a loadable ONNX model ({reason[:200]})") from None
        self.path = path
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise OnnxModelError(f"{path}: expected one (N, 3, H, W) input, found "
                                 f"{[(i.name, i.shape) for i in inputs]}")
        self.input_name = inputs[0].name
        try:
            self.layout = layout_from_metadata(self.session.get_modelmeta().custom_metadata_map, path)
        except ValueError as error:
            raise OnnxModelError(str(error)) from None
        outputs = self.session.get_outputs()
        self.output_names = [output.name for output in outputs]
        if raw_network_only and self.output_names == list(POSTPROCESS_OUTPUT_NAMES):
            raise OnnxModelError(f"{path}: exported with the postprocess outputs ({', '.join(self.output_names)}); "
                                 "the pipeline needs the raw network: export again without --with-postprocess")
        channels = [output.shape[1] for output in outputs]
        self.output_channels = channels
        if expected_channels is not None and channels != list(expected_channels):
            raise OnnxModelError(f"{path}: stage outputs have {channels} channels but the config expects "
                                 f"{list(expected_channels)}; was it exported from this config?")

    def eval(self):
        """Nothing to switch (the graph is exported in eval mode); present so PosePipeline can call it."""
        return self

    def __call__(self, images):
        if images.dim() != 4 or images.shape[1] != 3:
            raise UsageError(f"{self.path}: input must be (N, 3, H, W), got {tuple(images.shape)}")
        if (images.device.type == "cuda" and self.output_names == raw_output_names(len(self.output_names))
                and "CUDAExecutionProvider" in self.session.get_providers()):
            return self._run_on_cuda(images)
        array = np.ascontiguousarray(images.detach().to("cpu", torch.float32).numpy())
        outputs = self.session.run(self.output_names, {self.input_name: array})
        return [torch.from_numpy(output).to(images.device) for output in outputs]

    def _run_on_cuda(self, images):
        """The session run on the GPU through IO binding: input and outputs stay in torch CUDA memory.

        Output shapes come from the graph's strides: stage k of an (N, 3, H, W) input is
        (N, C_k, H / 4 * 2^k, W / 4 * 2^k), as the HigherHRNet network makes them.
        """
        images = images.detach().to(torch.float32).contiguous()
        batch, _, height, width = images.shape
        device_id = images.device.index or 0
        binding = self.session.io_binding()
        binding.bind_input(self.input_name, "cuda", device_id, np.float32, tuple(images.shape), images.data_ptr())
        outputs = []
        for stage, (name, channels) in enumerate(zip(self.output_names, self.output_channels)):
            shape = (batch, channels, height // 4 * 2 ** stage, width // 4 * 2 ** stage)
            output = torch.empty(shape, dtype=torch.float32, device=images.device)
            binding.bind_output(name, "cuda", device_id, np.float32, tuple(output.shape), output.data_ptr())
            outputs.append(output)
        binding.synchronize_inputs()
        self.session.run_with_iobinding(binding)
        binding.synchronize_outputs()
        return outputs

