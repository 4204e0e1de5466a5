"""Facts about the machine that decide the last bits of the numbers: CPU kind, vector extensions, threads.

oneDNN picks its convolution kernels by CPU capability (AVX2, AVX-512, AMX) and splits work by thread
count, so network outputs can differ in the last bits between machines and between 1 and 2 threads.
The poses differ only where the official decoder takes a discrete decision on a float near-tie
(docs/reproducibility.md). Logs and CI print these facts so that a difference can be traced.
"""
import platform

CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def cpu_flags(cpuinfo_path="/proc/cpuinfo"):
    """{flag: bool} for the flags of CPU_FLAGS, read from /proc/cpuinfo ({} where it does not exist)."""
    try:
        with open(cpuinfo_path) as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    present = set(line.split(":", 1)[1].split())
                    return {flag: flag in present for flag in CPU_FLAGS}
    except OSError:
        pass
    return {}


def cpu_model(cpuinfo_path="/proc/cpuinfo"):
    """The CPU's model name from /proc/cpuinfo, else platform.processor() (may be '')."""
    try:
        with open(cpuinfo_path) as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def bf16_is_native(flags=None):
    """True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16); elsewhere oneDNN emulates it."""
    flags = cpu_flags() if flags is None else flags
    return bool(flags.get("avx512_bf16") or flags.get("amx_bf16"))


def machine_summary():
    """One line: CPU model, torch's CPU capability, the vector flags, torch threads, torch version."""
    import torch

    flags = cpu_flags()
    shown = ", ".join(f"{flag} {'yes' if present else 'no'}" for flag, present in flags.items()) or "flags unknown"
    return (f"CPU {cpu_model() or 'unknown'}; torch {torch.__version__} CPU capability "
            f"{torch.backends.cpu.get_cpu_capability()} ({shown}); torch threads {torch.get_num_threads()}")
