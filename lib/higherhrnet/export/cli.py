"""tools/export_onnx.py: export the network to ONNX, then check onnxruntime against PyTorch.

    python tools/export_onnx.py --cfg <yaml> --weights <pth> --output model.onnx [--with-postprocess]
        [--images photos/ ...] [--atol 1e-3] [KEY VALUE ...]

The check runs both runtimes on the validation pictures resized and normalised exactly as the test pipeline
does at every TEST.SCALE_FACTOR (`engine.inference.prepare`), and prints the max absolute difference per
output. Pictures: --images (files or folders); default the first --max-images images of the config's test
split if that folder exists, else two noise pictures of different shapes. Exit status 1 if a difference
exceeds --atol, 2 for a bad config, weights or option.
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np
from higherhrnet.errors import UsageError


def parse_args(argv=None):
    from higherhrnet.demo import split_config_overrides

    argv, overrides = split_config_overrides(argv)
    parser = argparse.ArgumentParser(description="Export HigherHRNet to ONNX (dynamic batch, height and width) "
                                                 "and check it against PyTorch with onnxruntime.")
    parser.add_argument("--cfg", required=True, help="experiment YAML")
    parser.add_argument("--weights", help="weights (.pth); default TEST.MODEL_FILE")
    parser.add_argument("--output", help="ONNX file to write (default output/onnx/<cfg name>[_postprocess].onnx)")
    parser.add_argument("--with-postprocess", action="store_true",
                        help="put stage averaging and max-pool NMS in the graph: outputs heatmaps, tags, "
                             "heatmaps_nms (one scale, no flip); Predictor(backend='onnx') needs the raw export")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument("--images", nargs="+", help="validation images or folders")
    parser.add_argument("--max-images", type=int, default=4, help="at most this many validation images (default 4)")
    parser.add_argument("--atol", type=float, default=1e-3, help="largest accepted |onnx - torch| (default 1e-3)")
    parser.add_argument("--no-validate", action="store_true", help="export only")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides as KEY VALUE pairs")
    args = parser.parse_args(argv)
    args.opts = list(args.opts) + overrides
    return args


def default_output_path(cfg_file, with_postprocess):
    name = Path(cfg_file).name.split(".")[0] + ("_postprocess" if with_postprocess else "")
    return os.path.join("output", "onnx", f"{name}.onnx")


def validation_images(cfg, image_specs, max_images):
    """[(name, uint8 RGB image)] for the check (see the module docstring)."""
    from higherhrnet.data.image_io import read_image_rgb
    from higherhrnet.data.sources import image_path
    from higherhrnet.demo import list_image_files
    from higherhrnet.keypoints import dataset_family

    if image_specs:
        paths = []
        for spec in image_specs:
            if os.path.isdir(spec):
                paths.extend(list_image_files(spec))
            else:
                paths.append(Path(spec))
        return [(path.name, read_image_rgb(path)) for path in paths[:max_images]]
    try:
        folder = os.path.dirname(image_path(dataset_family(cfg.DATASET.DATASET_TEST), cfg.DATASET.ROOT,
                                            cfg.DATASET.TEST, "x.jpg"))
    except ValueError:
        folder = ""
    if folder and os.path.isdir(folder):
        paths = list_image_files(folder)[:max_images]
        if paths:
            return [(path.name, read_image_rgb(path)) for path in paths]
    rng = np.random.default_rng(0)
    size = int(cfg.DATASET.INPUT_SIZE)
    return [(f"noise {size}x{size}", rng.integers(0, 256, (size, size, 3), dtype=np.uint8)),
            (f"noise {size}x{size * 3 // 2}", rng.integers(0, 256, (size, size * 3 // 2, 3), dtype=np.uint8))]


def run_export(args):
    """Export, then validate; returns the largest difference (0.0 with --no-validate)."""
    import torch

    from higherhrnet.config import load_config
    from higherhrnet.engine.inference import InferenceSettings, prepare
    from higherhrnet.export.onnx_export import NetworkWithPostprocess, compare_with_torch, export_onnx
    from higherhrnet.engine.output_dirs import file_in_the_way
    from higherhrnet.errors import OutputFolderError
    from higherhrnet.keypoints import layout_from_config
    from higherhrnet.models import build_model, load_model_weights

    cfg = load_config(args.cfg, args.opts)
    weights = args.weights or cfg.TEST.MODEL_FILE
    if not weights:
        raise UsageError("no weights: pass --weights <file>.pth or set TEST.MODEL_FILE")
    network = build_model(cfg, is_train=False)
    load_model_weights(network, weights)
    network.eval()
    layout = layout_from_config(cfg)
    settings = InferenceSettings.from_config(cfg, torch.device("cpu"), layout=layout)
    module = NetworkWithPostprocess.from_settings(network, settings) if args.with_postprocess else network
    output = args.output or default_output_path(args.cfg, args.with_postprocess)
    blocker = file_in_the_way(Path(output).parent)
    if blocker is not None:
        raise OutputFolderError(f"--output {output}: {blocker} is a file, not a folder")
    size = int(cfg.DATASET.INPUT_SIZE)
    export_onnx(module, output, example_size_hw=(size, size), opset_version=args.opset, layout=layout)
    print(f"exported {output} ({os.path.getsize(output) / 1e6:.1f} MB, opset {args.opset}, dynamic batch/height/width"
          f"{', with postprocess' if args.with_postprocess else ''}; keypoint layout of {layout.num_joints} joint "
          f"channels in its metadata)")
    if args.no_validate:
        return 0.0

    inputs, names = [], []
    for name, image in validation_images(cfg, args.images, args.max_images):
        for scale_factor, network_input in prepare(image, settings).inputs:
            inputs.append(network_input)
            names.append(f"{name} @ {scale_factor:g}")
    largest = 0.0
    for name, report in zip(names, compare_with_torch(output, module, inputs)):
        shape = report.pop("input_shape")
        differences = ", ".join(f"{key} {value:.2e}" for key, value in report.items())
        print(f"  {name} input {shape[2]}x{shape[3]}: max |onnx - torch| {differences}")
        largest = max([largest, *report.values()])
    print(f"max abs difference onnxruntime vs PyTorch over {len(inputs)} input(s): {largest:.3e} "
          f"({'OK' if largest <= args.atol else 'ABOVE'} tolerance {args.atol:g})")
    return largest


def main(argv=None):
    """Entry point of tools/export_onnx.py; returns the exit status."""
    from higherhrnet.errors import REPORTED_ERRORS

    args = parse_args(argv)
    try:
        largest = run_export(args)
    except (*REPORTED_ERRORS, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0 if largest <= args.atol else 1


if __name__ == "__main__":
    sys.exit(main())
