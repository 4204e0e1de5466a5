"""Section `shapes`: what a new input shape costs, as for a folder of photos of different sizes.

The test resize keeps each image's aspect ratio, so photos of different sizes give networks inputs of
different shapes, and the first forward at every new shape is slower than the next ones (oneDNN builds its
convolution kernels per shape, onnxruntime infers shapes and plans memory). Two measurements, each in a
fresh process per backend (torch fp32; torch bf16 where bfloat16 is timed; ONNX through onnxruntime when
it is installed):
  first calls  the network part of a flip test (both passes) on the sample image resized to each size in
               turn: its first call at that shape, then the median of warmed calls. One call on a 64 x 64
               input comes first, so that the one-time start-up of the runtime is not charged to a shape.
  folder       `Predictor.predict` over a folder of N images of mixed sizes, twice: the first pass meets
               every shape for the first time, the second sees them all again. 'fresh_process_s' is the
               time from starting the process to the end of the first pass (interpreter, imports,
               network, first pass): what a user waits for when running on a folder once.
"""
import dataclasses
import os
import time

import cv2
import numpy as np
import torch

from higherhrnet.config import load_config
from higherhrnet.data.image_io import read_image_rgb
from higherhrnet.engine.inference import PosePipeline, prepare
from higherhrnet.predictor import Predictor

from .decoder import single_scale_settings
from .inputs import config_overrides, load_network
from .isolated import run_in_fresh_process
from .timing import first_and_warm_ms

STARTUP_INPUT_HW = (64, 64)
# (backend, precision) measured, in this order; bf16 only where bfloat16 is timed, onnx where it is installed
BACKENDS = (("torch", "fp32"), ("torch", "bf16"), ("onnx", "fp32"))


def _network(backend, cfg_file, opts, weights, onnx_file):
    """(cfg, the torch network, or an onnxruntime OnnxNetwork of onnx_file with torch's thread count)."""
    if backend != "onnx":
        return load_network(cfg_file, opts, weights)
    from higherhrnet.export import OnnxNetwork

    return load_config(cfg_file, config_overrides(opts, weights)), OnnxNetwork(onnx_file,
                                                                              threads=torch.get_num_threads())


def time_first_calls(backend, precision, cfg_file, opts, weights, image_path, sizes_wh, repeats, onnx_file=None):
    """First call and warmed median (ms) of the flip test's network part at the input shape of each size.

    sizes_wh: [(W, H)] image sizes; the sample image is resized to each (cv2.INTER_AREA) and prepared as
    the test pipeline does. Returns {'startup_call_ms' (the 64 x 64 call), 'sizes': [{'image_size_wh',
    'input_size_hw', 'new_shape' (not met before in this process), 'first_ms', 'warm_ms'}]}.
    """
    cfg, network = _network(backend, cfg_file, opts, weights, onnx_file)
    device = torch.device("cpu")
    bf16 = precision == "bf16"
    settings = single_scale_settings(cfg, device)
    pipeline = PosePipeline(network, dataclasses.replace(settings, amp=bf16, channels_last=bf16), device)
    startup_ms, _, _ = first_and_warm_ms(lambda: pipeline.forward(torch.zeros(1, 3, *STARTUP_INPUT_HW)), 1)
    image = read_image_rgb(image_path)
    seen, entries = {STARTUP_INPUT_HW}, []
    for width, height in sizes_wh:
        resized = cv2.resize(image, (int(width), int(height)), interpolation=cv2.INTER_AREA)
        network_input = prepare(resized, settings).inputs[0][1]
        shape = tuple(network_input.shape[2:])
        first_ms, warm_ms, _ = first_and_warm_ms(lambda: pipeline.forward(network_input), repeats)
        entries.append({"image_size_wh": [int(width), int(height)], "input_size_hw": list(shape),
                        "new_shape": shape not in seen, "first_ms": first_ms, "warm_ms": warm_ms})
        seen.add(shape)
    return {"backend": backend, "precision": precision, "startup_call_ms": startup_ms, "sizes": entries}


def time_predictor_folder(backend, precision, cfg_file, opts, weights, folder, onnx_file=None):
    """`Predictor.predict` on every image file of `folder` (sorted), twice, in this fresh process.

    Returns {'num_images', 'setup_s' (network and Predictor), 'first_pass_s', 'second_pass_s',
    'first_pass_ms' and 'second_pass_ms' (per image), 'first_pass_end_at' (time.time())}.
    """
    start = time.perf_counter()
    overrides = list(opts) + (["TEST.AMP", True] if precision == "bf16" else [])
    if backend == "onnx":
        predictor = Predictor(cfg_file, onnx_file, backend="onnx", opts=overrides, onnx_threads=torch.get_num_threads())
    else:
        cfg, network = load_network(cfg_file, overrides, weights)
        predictor = Predictor(cfg, model=network)
    setup_s = time.perf_counter() - start
    files = sorted(os.path.join(folder, name) for name in os.listdir(folder))
    passes = []
    for _ in range(2):
        times = []
        for path in files:
            start = time.perf_counter()
            predictor.predict(path)
            times.append((time.perf_counter() - start) * 1000.0)
        passes.append(times)
        if len(passes) == 1:
            first_pass_end_at = time.time()
    return {"num_images": len(files), "setup_s": setup_s, "first_pass_s": sum(passes[0]) / 1000.0,
            "second_pass_s": sum(passes[1]) / 1000.0, "first_pass_ms": passes[0], "second_pass_ms": passes[1],
            "first_pass_end_at": first_pass_end_at}


def write_image_folder(folder, image_paths, sizes_wh, num_images):
    """`num_images` JPEG files in `folder`: the sample images in turn, resized to the sizes in turn."""
    os.makedirs(folder, exist_ok=True)
    sources = [cv2.imread(str(path), cv2.IMREAD_COLOR) for path in image_paths]
    for index in range(num_images):
        width, height = sizes_wh[index % len(sizes_wh)]
        image = cv2.resize(sources[index % len(sources)], (int(width), int(height)), interpolation=cv2.INTER_AREA)
        cv2.imwrite(os.path.join(folder, f"{index:03d}_{width}x{height}.jpg"), np.ascontiguousarray(image))
    return folder


def run_shapes_section(options, image_paths, bf16, onnx_file, onnx_missing, scratch, progress):
    """First calls per shape and the folder through the Predictor, per backend, each in a fresh process.

    onnx_file: the exported network (None when ONNX is not measured; onnx_missing then says why).
    """
    sizes = [list(size) for size in options.sizes]
    folder = write_image_folder(os.path.join(scratch, "folder"), image_paths, sizes, options.folder_images)
    common = dict(cfg_file=options.cfg, opts=list(options.opts), weights=options.weights)
    results = {"sizes_wh": sizes, "image": os.path.basename(image_paths[0]), "runs": [], "skipped": [],
               "weights": "loaded" if options.weights else "random"}
    for backend, precision in BACKENDS:
        if backend not in options.backends:
            continue
        if precision == "bf16" and not bf16:
            results["skipped"].append("torch bf16: bfloat16 is not native on this CPU (--bf16 on times it)")
            continue
        if backend == "onnx" and onnx_file is None:
            results["skipped"].append(f"onnx: {onnx_missing}")
            continue
        name = f"{backend} {precision}"
        progress(f"shapes: first calls, {name}")
        first_calls = run_in_fresh_process("first_calls", dict(
            common, backend=backend, precision=precision, image_path=image_paths[0], sizes_wh=sizes,
            repeats=options.repeats, onnx_file=onnx_file), options.threads)
        progress(f"shapes: folder of {options.folder_images} images, {name}")
        folder_run = run_in_fresh_process("predictor_folder", dict(
            common, backend=backend, precision=precision, folder=folder, onnx_file=onnx_file), options.threads)
        folder_run["fresh_process_s"] = folder_run.pop("first_pass_end_at") - folder_run["process"]["spawned_at"]
        results["runs"].append({"backend": backend, "precision": precision, "first_calls": first_calls,
                                "folder": folder_run})
    return results
