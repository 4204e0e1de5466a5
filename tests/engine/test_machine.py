"""engine/machine.py: the CPU facts printed by valid.py, dist_train.py and CI."""
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
