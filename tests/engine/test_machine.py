"""engine/machine.py: the CPU facts printed by valid.py, dist_train.py and CI, and the bfloat16 probe."""
import logging

import pytest
import torch

from higherhrnet.engine.machine import bf16_is_native, cpu_flags, cpu_model, machine_summary

AVX512_MACHINE = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_bf16 amx_tile
"""


def test_flags_and_model_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(AVX512_MACHINE)
    flags = cpu_flags(cpuinfo)
    assert flags == {"avx2": True, "avx512f": True, "avx512_bf16": True, "amx_bf16": True, "amx_tile": True}
    assert cpu_model(cpuinfo) == "Intel(R) Xeon(R) Platinum 8480+" and bf16_is_native(flags)
    cpuinfo.write_text("model name\t: AMD EPYC\nflags\t\t: fpu avx2 fma\n")
    assert cpu_flags(cpuinfo)["avx2"] and not bf16_is_native(cpu_flags(cpuinfo))
    assert cpu_flags(tmp_path / "missing") == {}


def test_summary_names_capability_and_threads():
    import torch

    summary = machine_summary()
    assert torch.backends.cpu.get_cpu_capability() in summary
    assert f"torch threads {torch.get_num_threads()}" in summary


AVX2_FLAGS = {"avx2": True, "avx512f": False, "avx512_bf16": False, "amx_bf16": False, "amx_tile": False}
NATIVE_FLAGS = dict(AVX2_FLAGS, avx512f=True, avx512_bf16=True)


def test_bf16_probe_names_the_emulating_cpu():
    from higherhrnet.engine.machine import bf16_emulation_warning

    message = bf16_emulation_warning(AVX2_FLAGS, "AVX2")
    assert message.startswith("bfloat16 is emulated on this CPU (AVX2") and "TEST.AMP" in message
    assert bf16_emulation_warning(NATIVE_FLAGS, "AVX512") is None
    assert bf16_emulation_warning(dict(AVX2_FLAGS, amx_bf16=True), "AVX512") is None
    assert bf16_emulation_warning({}, "DEFAULT") is None  # flags unknown: no claim


class _StandIn(torch.nn.Module):
    """Stands for the network: a parameter-free torch module (TEST.AMP only prepares torch networks)."""

    def forward(self, x):
        return [x]


@pytest.fixture
def patched_cpu(monkeypatch):
    """Sets the CPU flags the probe sees ({flag: bool}) and forgets an earlier warning of this process."""
    from higherhrnet.engine import machine

    monkeypatch.setattr(machine, "_bf16_warning_given", False)

    def patch(flags):
        monkeypatch.setattr(machine, "cpu_flags", lambda cpuinfo_path=None: dict(flags))
    return patch


def test_amp_on_an_emulating_cpu_warns_once(patched_cpu, caplog):
    from higherhrnet.engine.inference import InferenceSettings, PosePipeline

    patched_cpu(AVX2_FLAGS)
    with caplog.at_level(logging.WARNING, logger="higherhrnet"):
        PosePipeline(_StandIn(), InferenceSettings(), "cpu")  # fp32: no warning
        assert not caplog.records
        PosePipeline(_StandIn(), InferenceSettings(amp=True), "cpu")
        PosePipeline(_StandIn(), InferenceSettings(amp=True), "cpu")
    warnings = [record for record in caplog.records if "bfloat16 is emulated" in record.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


def test_amp_on_a_native_bf16_cpu_does_not_warn(patched_cpu, caplog):
    from higherhrnet.engine.inference import InferenceSettings, PosePipeline
    from higherhrnet.engine.machine import warn_if_bf16_emulated

    patched_cpu(NATIVE_FLAGS)
    with caplog.at_level(logging.WARNING, logger="higherhrnet"):
        PosePipeline(_StandIn(), InferenceSettings(amp=True), "cpu")
        assert warn_if_bf16_emulated() is True
    assert not caplog.records
    patched_cpu(AVX2_FLAGS)
    assert warn_if_bf16_emulated() is False
