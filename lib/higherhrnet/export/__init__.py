"""Export to ONNX and the onnxruntime stand-in for the network.

    names.py         the graphs' input and output names
    onnx_export.py   export_onnx(): the network (or network + stage averaging + max-pool NMS) to an ONNX
                     file with dynamic batch / height / width; compare_with_torch(): onnxruntime vs PyTorch
    layout_metadata.py  the keypoint layout as JSON in the model's metadata_props (written and read back)
    onnx_runtime.py  OnnxNetwork: an onnxruntime session called like the torch network, so that
                     `Predictor(backend='onnx')` runs it inside the unchanged test pipeline
    cli.py           tools/export_onnx.py

onnx / onnxruntime are imported only when used.
"""
from higherhrnet.export.layout_metadata import LAYOUT_KEY, layout_from_metadata, layout_to_json
from higherhrnet.export.names import INPUT_NAME, POSTPROCESS_OUTPUT_NAMES, raw_output_names
from higherhrnet.export.onnx_export import NetworkWithPostprocess, compare_with_torch, export_onnx
from higherhrnet.export.onnx_runtime import OnnxModelError, OnnxNetwork, network_output_channels

__all__ = ["INPUT_NAME", "LAYOUT_KEY", "layout_from_metadata", "layout_to_json", "POSTPROCESS_OUTPUT_NAMES", "NetworkWithPostprocess", "OnnxModelError", "OnnxNetwork",
           "compare_with_torch", "export_onnx", "network_output_channels", "raw_output_names"]
