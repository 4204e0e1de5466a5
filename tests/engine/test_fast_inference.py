"""The fast inference mode (TEST.AMP, engine.fast_network): BatchNorm folding, pre-cast weights, the compile
fallback, and that the default float32 path is untouched. bfloat16 runs on the tiny fixture model only
(bfloat16 may be emulated on the test machine, which is slow)."""
import logging

import pytest
import torch
from torch import nn

from higherhrnet.config import load_config
from higherhrnet.demo import build_predictor, parse_args
from higherhrnet.engine import fast_network
from higherhrnet.engine.fast_network import (BatchNormFoldError, FastNetwork, fold_batch_norm_into_conv,
                                             fold_batch_norms)
from higherhrnet.engine.inference import InferenceSettings, PosePipeline
from higherhrnet.models import build_model, load_model_weights
from higherhrnet.predictor import Predictor, PredictorArgumentError

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tiny_model(shared):
    cfg = load_config(shared / "tiny" / "tiny_coco.yaml", [])
    return load_model_weights(build_model(cfg, is_train=False), shared / "tiny" / "tiny_coco.pth").eval()


@pytest.fixture(scope="module")
def network_input():
    return torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))


def _pipeline(shared, model, opts):
    cfg = load_config(shared / "tiny" / "tiny_coco.yaml", opts)
    return PosePipeline(model, InferenceSettings.from_config(cfg, CPU), CPU)


def _batch_norm_with_statistics(channels, seed):
    generator = torch.Generator().manual_seed(seed)
    batch_norm = nn.BatchNorm2d(channels).eval()
    batch_norm.running_mean.copy_(torch.randn(channels, generator=generator))
    batch_norm.running_var.copy_(torch.rand(channels, generator=generator) + 0.5)
    batch_norm.weight.data.copy_(torch.randn(channels, generator=generator))
    batch_norm.bias.data.copy_(torch.randn(channels, generator=generator))
    return batch_norm


@pytest.mark.parametrize("conv", [nn.Conv2d(4, 6, 3, padding=1, bias=False), nn.Conv2d(4, 6, 1, bias=True),
                                  nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1, bias=False)],
                         ids=["conv3x3", "conv1x1_bias", "deconv"])
def test_folding_one_batch_norm_gives_the_same_function(conv):
    batch_norm = _batch_norm_with_statistics(6, seed=1)
    x = torch.randn(2, 4, 8, 10, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        reference = batch_norm(conv(x))
        folded = fold_batch_norm_into_conv(conv, batch_norm)(x)
    assert folded.shape == reference.shape
    assert (folded - reference).abs().max().item() < 1e-5


def test_a_batch_norm_without_a_conv_before_it_is_an_error():
    network = nn.Sequential(nn.ReLU(), _batch_norm_with_statistics(3, seed=0))
    with pytest.raises(BatchNormFoldError, match="without a preceding convolution"):
        fold_batch_norms(network)


def test_folded_tiny_network_equals_the_unfolded_one_in_fp32(tiny_model, network_input):
    state_before = {key: value.clone() for key, value in tiny_model.state_dict().items()}
    folded = FastNetwork(tiny_model, CPU, dtype=torch.float32, channels_last=False)
    assert not any(isinstance(module, nn.BatchNorm2d) for module in folded.network.modules())
    # the given model is untouched: it keeps its BatchNorms and weights
    assert sum(isinstance(module, nn.BatchNorm2d) for module in tiny_model.modules()) > 50
    assert all(torch.equal(value, state_before[key]) for key, value in tiny_model.state_dict().items())
    with torch.inference_mode():
        reference, ours = tiny_model(network_input), folded(network_input)
    assert [o.shape for o in ours] == [r.shape for r in reference]
    for output, expected in zip(ours, reference):
        assert (output - expected).abs().max().item() < 1e-4


def test_default_path_is_the_unmodified_network_bit_for_bit(shared, tiny_model, network_input):
    pipeline = _pipeline(shared, tiny_model, [])
    assert pipeline.network is tiny_model and not pipeline.settings.amp
    outputs, flipped = pipeline.forward(network_input)
    with torch.inference_mode():
        reference = tiny_model(network_input)
        reference_flipped = tiny_model(torch.flip(network_input, [3]))
    for ours, expected in zip(outputs + flipped, reference + reference_flipped):
        assert ours.dtype == torch.float32 and torch.equal(ours, expected)


def test_amp_pipeline_runs_the_prepared_bf16_network(shared, tiny_model, network_input):
    pipeline = _pipeline(shared, tiny_model, ["TEST.AMP", "True"])
    assert isinstance(pipeline.network, FastNetwork) and pipeline.model is tiny_model
    weights = [p for p in pipeline.network.network.parameters()]
    assert all(p.dtype == torch.bfloat16 for p in weights)
    conv_weight = pipeline.network.network.conv1.weight
    assert conv_weight.is_contiguous(memory_format=torch.channels_last) and not conv_weight.is_contiguous()
    outputs, flipped = pipeline.forward(network_input)
    with torch.inference_mode():
        reference = tiny_model(network_input)
    for ours, expected in zip(outputs, reference):
        assert ours.dtype == torch.float32 and ours.is_contiguous() and ours.shape == expected.shape
        assert not torch.equal(ours, expected)  # reduced precision: not the exact path
        assert (ours - expected).abs().max().item() < 0.05 * expected.abs().max().item() + 1e-3
    assert len(flipped) == len(outputs)


def test_compile_key_reaches_the_settings(shared):
    cfg = load_config(shared / "tiny" / "tiny_coco.yaml", ["TEST.AMP", "True", "TEST.COMPILE", "True"])
    settings = InferenceSettings.from_config(cfg, CPU)
    assert settings.compile and settings.amp and settings.channels_last
    assert not InferenceSettings.from_config(load_config(shared / "tiny" / "tiny_coco.yaml", []), CPU).compile


def test_compile_without_a_cxx_compiler_runs_eagerly_and_says_so(tiny_model, monkeypatch, caplog):
    monkeypatch.setattr(fast_network, "cxx_compiler", lambda: None)
    monkeypatch.setattr(torch, "compile", lambda *a, **k: pytest.fail("torch.compile must not be called"))
    with caplog.at_level(logging.WARNING, logger=fast_network.__name__):
        network = FastNetwork(tiny_model, CPU, dtype=torch.float32, compile=True)
    assert network.compiled is None
    assert "no C++ compiler" in caplog.text


def test_a_compile_failure_at_the_first_call_falls_back_to_eager(tiny_model, network_input, monkeypatch, caplog):
    calls = []

    def failing_compiled(images):
        calls.append(images.shape)
        raise RuntimeError("inductor: C++ compile error\nmore lines")

    monkeypatch.setattr(fast_network, "cxx_compiler", lambda: "/usr/bin/g++")
    monkeypatch.setattr(torch, "compile", lambda module, **options: failing_compiled)
    eager = FastNetwork(tiny_model, CPU, dtype=torch.float32)
    network = FastNetwork(tiny_model, CPU, dtype=torch.float32, compile=True)
    assert network.compiled is failing_compiled
    with caplog.at_level(logging.WARNING, logger=fast_network.__name__), torch.inference_mode():
        outputs = network(network_input)
        again = network(network_input)
        expected = eager(network_input)
    assert len(calls) == 1 and network.compiled is None  # tried once, then eager from then on
    assert "compiling the network failed (RuntimeError: inductor: C++ compile error)" in caplog.text
    for first, second, reference in zip(outputs, again, expected):
        assert torch.equal(first, reference) and torch.equal(second, reference)


@pytest.mark.parametrize("precision", ["fp16", "BF16", ""])
def test_bad_precision_is_a_one_line_error(shared, precision):
    with pytest.raises(PredictorArgumentError, match="precision") as error:
        Predictor(shared / "tiny" / "tiny_coco.yaml", shared / "tiny" / "tiny_coco.pth", device="cpu",
                  precision=precision)
    assert "\n" not in str(error.value) and "fp32, bf16" in str(error.value)


def test_bf16_precision_is_for_the_torch_backend(shared):
    with pytest.raises(PredictorArgumentError, match="torch backend"):
        Predictor(shared / "tiny" / "tiny_coco.yaml", "model.onnx", backend="onnx", precision="bf16")


def test_predictor_precision_chooses_the_network(shared):
    config, weights = shared / "tiny" / "tiny_coco.yaml", shared / "tiny" / "tiny_coco.pth"
    fast = Predictor(config, weights, device="cpu", precision="bf16")
    exact = Predictor(config, weights, device="cpu", precision="fp32", opts=["TEST.AMP", "True"])
    assert fast.settings.amp and isinstance(fast.pipeline.network, FastNetwork)
    assert not exact.settings.amp and exact.pipeline.network is exact.pipeline.model


def test_demo_bf16_flag_turns_the_fast_mode_on(shared, tmp_path):
    common = ["--cfg", str(shared / "tiny" / "tiny_coco.yaml"), "--weights", str(shared / "tiny" / "tiny_coco.pth"),
              "--input", str(tmp_path), "--device", "cpu"]
    assert build_predictor(parse_args(common + ["--bf16"])).settings.amp
    assert not build_predictor(parse_args(common)).settings.amp
