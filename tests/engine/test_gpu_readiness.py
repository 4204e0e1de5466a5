"""The CUDA, NCCL and multi-node paths, checked without a GPU.

Stand-ins: the `meta` device for CUDA (a meta tensor cannot be read on the host, and mixing it with a CPU
tensor fails, so a hidden host sync or a CPU tensor in a device computation raises), a patched
`torch.cuda` where a call order or a device choice is under test, and Gloo process groups for NCCL
(tests/engine/test_distributed_runs.py).
"""
import copy
import logging

import pytest
import torch
import torch.distributed as dist

from higherhrnet.config import load_config
from higherhrnet.data.compact_batch import CompactBatch
from higherhrnet.data.image_io import normalise_by_indexing
from higherhrnet.engine import checkpoint as ckpt
from higherhrnet.engine import distributed
from higherhrnet.engine.inference import InferenceSettings, PosePipeline
from higherhrnet.engine.training import LossMeters, MixedPrecision
from higherhrnet.errors import UserError
from higherhrnet.losses import AELoss, MultiLossFactory, total_loss
from higherhrnet.models import build_model

META = torch.device("meta")


@pytest.fixture(scope="module")
def tiny_cfg(shared):
    return load_config(str(shared / "tiny" / "tiny_coco.yaml"))


class FakeCuda:
    """Records the torch.cuda / torch.distributed calls of the device set-up, in order."""

    def __init__(self, monkeypatch, count=2):
        self.calls = []
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
        monkeypatch.setattr(torch.cuda, "set_device", lambda device: self.calls.append(("set_device", device)))
        monkeypatch.setattr(dist, "is_initialized", lambda: False)
        monkeypatch.setattr(dist, "init_process_group", lambda **kwargs: self.calls.append(("init", kwargs)))


def torchrun_env(monkeypatch, rank, local_rank, world_size, local_world_size):
    for key, value in (("RANK", rank), ("LOCAL_RANK", local_rank), ("WORLD_SIZE", world_size),
                       ("LOCAL_WORLD_SIZE", local_world_size), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "1")):
        monkeypatch.setenv(key, str(value))


def test_each_torchrun_process_takes_its_gpu_before_the_process_group(monkeypatch):
    fake = FakeCuda(monkeypatch)
    torchrun_env(monkeypatch, rank=3, local_rank=1, world_size=4, local_world_size=2)
    place = distributed.init_distributed("")
    assert place.device == torch.device("cuda", 1) and (place.rank, place.local_rank, place.world_size) == (3, 1, 4)
    (first, device), (second, options) = fake.calls
    assert first == "set_device" and device == torch.device("cuda", 1)
    assert second == "init" and options["backend"] == "nccl" and options["device_id"] == torch.device("cuda", 1)


def test_an_explicit_gpu_is_refused_when_processes_share_the_node(monkeypatch):
    FakeCuda(monkeypatch)
    torchrun_env(monkeypatch, rank=1, local_rank=1, world_size=2, local_world_size=2)
    with pytest.raises(UserError, match="DEVICE 'cuda:0' with 2 processes per node"):
        distributed.init_distributed("cuda:0")


def test_a_single_process_uses_and_selects_the_gpu_it_is_given(monkeypatch):
    fake = FakeCuda(monkeypatch)
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(key, raising=False)
    assert distributed.init_distributed("cuda:1").device == torch.device("cuda", 1)
    assert fake.calls == [("set_device", torch.device("cuda", 1))]


def test_cpu_processes_join_gloo(monkeypatch):
    fake = FakeCuda(monkeypatch)
    torchrun_env(monkeypatch, rank=0, local_rank=0, world_size=2, local_world_size=2)
    assert distributed.init_distributed("cpu").device == torch.device("cpu")
    assert fake.calls == [("init", {"backend": "gloo", "init_method": "env://", "rank": 0, "world_size": 2})]


@pytest.mark.parametrize("enabled", [False, True])
@pytest.mark.parametrize("dynamic", [False, True])
@pytest.mark.parametrize("static_scale", [1.0, 128.0])
def test_every_fp16_combination_builds_on_cuda(monkeypatch, enabled, dynamic, static_scale):
    """torch 2.13 rejects GradScaler(growth_factor=1.0); the static scale is the official manual scaling."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    precision = MixedPrecision(enabled, torch.device("cuda", 0), dynamic, static_scale)
    expected = "none" if not enabled else ("dynamic" if dynamic else "static")
    assert precision.scaling == expected and precision.dtype == torch.float16
    assert (precision.scaler is not None) == (expected == "dynamic")
    if expected == "dynamic":
        assert precision.scaler.get_scale() == 2.0 ** 32 if precision.scaler.is_enabled() else True
        assert (precision.scaler.get_growth_factor(), precision.scaler.get_backoff_factor(),
                precision.scaler.get_growth_interval()) == (2.0, 0.5, 1000)
    cpu = MixedPrecision(enabled, torch.device("cpu"), dynamic, static_scale)
    assert cpu.scaling == "none" and cpu.dtype == torch.bfloat16


def _one_step(scaling, static_scale=1.0, poison=False):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    loss = model(torch.randn(5, 4)).pow(2).mean()
    if poison:
        loss = loss * float("inf")
    MixedPrecision(True, torch.device("cpu"), static_loss_scale=static_scale, scaling=scaling).backward_and_step(
        loss, optimizer)
    return [parameter.detach().clone() for parameter in model.parameters()]


def test_static_loss_scale_is_manual_scaling_that_never_skips():
    plain = _one_step("none")
    scaled = _one_step("static", static_scale=1024.0)  # a power of two: scaling and unscaling are exact
    assert all(torch.equal(a, b) for a, b in zip(plain, scaled))
    # the official static scaler checks no overflow: a non-finite step is applied (and reaches the weights)
    assert not all(torch.isfinite(p).all() for p in _one_step("static", static_scale=8.0, poison=True))
    # the dynamic scaler skips it
    skipped = _one_step("dynamic", poison=True)
    torch.manual_seed(0)
    assert all(torch.equal(a, b.detach()) for a, b in zip(skipped, torch.nn.Linear(4, 3).parameters()))


class FakeCudaRng:
    """Per-device CUDA generator states of a machine with `count` devices."""

    def __init__(self, monkeypatch, count):
        self.states = {index: torch.tensor([index], dtype=torch.uint8) for index in range(count)}
        monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device: self.states[torch.device(device).index])
        monkeypatch.setattr(torch.cuda, "set_rng_state", self.set_state)
        monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: list(self.states.values()))
        monkeypatch.setattr(torch.cuda, "set_rng_state_all", lambda states: [
            self.set_state(state, index) for index, state in enumerate(states)])

    def set_state(self, state, device):
        index = torch.device("cuda", device).index if isinstance(device, int) else torch.device(device).index
        if index not in self.states:
            raise RuntimeError(f"invalid device {index}")
        self.states[index] = state


def test_rng_states_round_trip_across_gpu_counts_per_process(monkeypatch):
    """Saved by rank 5 on an 8-GPU node (its cuda:5), restored by rank 5 on a 4-GPU node (its cuda:1)."""
    eight = FakeCudaRng(monkeypatch, 8)
    eight.states[5] = torch.tensor([55], dtype=torch.uint8)
    saved = ckpt.capture_rng_states(torch.device("cuda", 5))
    assert torch.equal(saved["cuda"], torch.tensor([55], dtype=torch.uint8))
    four = FakeCudaRng(monkeypatch, 4)
    ckpt.restore_rng_states(saved, torch.device("cuda", 1))
    assert torch.equal(four.states[1], torch.tensor([55], dtype=torch.uint8))
    assert [int(four.states[i]) for i in (0, 2, 3)] == [0, 2, 3]  # no other device touched
    # checkpoints of earlier versions hold every device's state: this device's entry is used
    legacy = dict(saved, cuda=[torch.tensor([i + 100], dtype=torch.uint8) for i in range(8)])
    ckpt.restore_rng_states(legacy, torch.device("cuda", 2))
    assert int(four.states[2]) == 102
    ckpt.restore_rng_states(saved, torch.device("cpu"))  # a CPU process ignores CUDA states


def test_the_loss_needs_no_host_sync(tiny_cfg):
    """The AE loss, the total and the meters run on meta tensors: nothing reads a value on the host."""
    tags = torch.randn(2, 17 * 64 * 64, 1, device=META)
    joints = torch.zeros(2, 30, 17, 2, dtype=torch.int64, device=META)
    push, pull = AELoss("exp")(tags, joints)
    assert push.device == pull.device == META
    loss, components = total_loss([torch.ones(2, device=META)], [push], [pull])
    assert loss.device == META and all(value.device == META for value in components.values())
    meters = LossMeters()
    meters.update(components, loss, 1e-3, 0, 2)
    assert all(value.device == META for value in meters.sums.values())


def test_a_training_iteration_keeps_every_tensor_on_the_device(tiny_cfg):
    """Batch expansion, forward, losses, backward and step on the meta device (a CPU tensor would fail)."""
    model = build_model(tiny_cfg, is_train=True).to(META)
    loss_fn = MultiLossFactory.from_config(tiny_cfg).to(META)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    sizes = tiny_cfg.DATASET.OUTPUT_SIZE
    batch = CompactBatch(
        images=torch.zeros(2, 3, 256, 256, dtype=torch.uint8),
        heatmap_index=[torch.tensor([0, 5]) for _ in sizes], heatmap_values=[torch.ones(2) for _ in sizes],
        heatmap_shapes=[(2, 17, size, size) for size in sizes],
        masks=[torch.ones(2, size, size, dtype=torch.uint8) for size in sizes],
        tag_targets=[torch.zeros(2, 30, 17, 2, dtype=torch.int32) for _ in sizes])
    images, heatmaps, masks, joints = batch.expand(META)
    assert images.device == META and all(t.device == META for t in heatmaps + masks + joints)
    outputs = [output.float() for output in model(images)]
    loss, components = total_loss(*loss_fn(outputs, heatmaps, masks, joints))
    MixedPrecision(False, META).backward_and_step(loss, optimizer)
    assert all(p.device == META for p in model.parameters())


def test_inference_and_aggregation_stay_on_the_device(tiny_cfg):
    model = build_model(tiny_cfg, is_train=False).to(META)
    settings = InferenceSettings.from_config(tiny_cfg)
    pipeline = PosePipeline(model, settings, META)
    outputs, flipped = pipeline.forward(torch.zeros(1, 3, 256, 384))
    det, tags = pipeline.aggregate([(1.0, outputs, flipped)], (384, 256))
    assert det.device == tags.device == META
    assert tuple(det.shape) == (1, 17, 256, 384) and tuple(tags.shape) == (1, 17, 256, 384, 2)


def test_the_normalisation_table_is_copied_to_a_device_once():
    first = normalise_by_indexing(torch.zeros(1, 3, 4, 4, dtype=torch.uint8, device=META))
    from higherhrnet.data import image_io
    table = image_io._table_on(META)
    normalise_by_indexing(torch.zeros(1, 3, 4, 4, dtype=torch.uint8, device=META))
    assert image_io._table_on(META)[0] is table[0] and first.device == META


@pytest.mark.slow
def test_onnx_export_works_on_a_copy(tmp_path, tiny_cfg):
    from higherhrnet.export import export_onnx

    model = build_model(tiny_cfg, is_train=False).train()
    before = copy.deepcopy(model.state_dict())
    export_onnx(model, tmp_path / "tiny.onnx")
    assert model.training  # the caller's model keeps its mode (and device)
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())


class _RecordingBinding:
    def __init__(self):
        self.inputs, self.outputs, self.synchronised = [], [], []

    def bind_input(self, name, device_type, device_id, element_type, shape, pointer):
        self.inputs.append((name, device_type, device_id, tuple(shape)))

    def bind_output(self, name, device_type, device_id, element_type, shape, pointer):
        self.outputs.append((name, device_type, device_id, tuple(shape)))

    def synchronize_inputs(self):
        self.synchronised.append("inputs")

    def synchronize_outputs(self):
        self.synchronised.append("outputs")


class _RecordingSession:
    def __init__(self):
        self.binding, self.ran = _RecordingBinding(), []

    def get_providers(self):
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]

    def io_binding(self):
        return self.binding

    def run_with_iobinding(self, binding):
        self.ran.append(binding)

    def run(self, *args):
        raise AssertionError("the host path must not run for CUDA inputs")


def test_onnx_on_cuda_binds_torch_memory_instead_of_copying_through_the_host():
    from higherhrnet.export.onnx_runtime import OnnxNetwork

    network = OnnxNetwork.__new__(OnnxNetwork)
    network.session, network.path, network.input_name = _RecordingSession(), "tiny.onnx", "image"
    network.output_names, network.output_channels = ["stage0", "stage1"], [34, 17]
    # the bound buffers are torch tensors on the input's device (here the CPU: no GPU to allocate on)
    outputs = network._run_on_cuda(torch.zeros(1, 3, 256, 384))
    binding = network.session.binding
    assert binding.inputs == [("image", "cuda", 0, (1, 3, 256, 384))]
    assert binding.outputs == [("stage0", "cuda", 0, (1, 34, 64, 96)), ("stage1", "cuda", 0, (1, 17, 128, 192))]
    assert network.session.ran == [binding] and binding.synchronised == ["inputs", "outputs"]
    assert [tuple(o.shape) for o in outputs] == [(1, 34, 64, 96), (1, 17, 128, 192)]

    class CudaLooking(torch.Tensor):  # reports a CUDA device, to check that such inputs take the bound path
        @property
        def device(self):
            return torch.device("cuda", 1)

    taken = []
    network._run_on_cuda = lambda images: taken.append(images) or []
    network(torch.zeros(1, 3, 64, 64).as_subclass(CudaLooking))
    assert len(taken) == 1


def test_logger_of_other_ranks_needs_no_folder(tmp_path, tiny_cfg):
    """Rank 1 on a node without rank 0's filesystem: no folder is waited for or made."""
    from higherhrnet.engine.output_dirs import create_logger

    cfg = tiny_cfg.clone()
    cfg.defrost()
    cfg.OUTPUT_DIR, cfg.LOG_DIR = str(tmp_path / "output"), str(tmp_path / "log")
    logger, final_output_dir, _ = create_logger(cfg, "tiny_coco.yaml", "train", rank=1)
    assert not final_output_dir.exists() and not (tmp_path / "log").exists()
    assert logger.level == logging.WARNING


def test_the_meta_stand_in_catches_host_reads_and_cpu_tensors():
    """What makes the meta tests above meaningful: reading a value and mixing in a CPU tensor both fail."""
    values = torch.zeros(3, device=META)
    for read in (lambda: bool((values > 0).any()), lambda: values.sum().item(), lambda: values.cpu().numpy()):
        with pytest.raises((RuntimeError, NotImplementedError, TypeError)):
            read()
    with pytest.raises(RuntimeError):
        values + torch.ones(3)
