"""The names of the exported graphs' inputs and outputs, shared by the exporter and the onnxruntime wrapper."""

INPUT_NAME = "image"
POSTPROCESS_OUTPUT_NAMES = ("heatmaps", "tags", "heatmaps_nms")


def raw_output_names(num_stages):
    """ONNX output names of the raw network: stage0, stage1, ... (finest stage last)."""
    return [f"stage{stage}" for stage in range(num_stages)]
