"""Facts about the machine that decide the last bits of the numbers: CPU kind, vector extensions, threads.

oneDNN picks its convolution kernels by CPU capability (AVX2, AVX-512, AMX) and splits work by thread
count, so network outputs can differ in the last bits between machines and between 1 and 2 threads.
The poses differ only where the official decoder takes a discrete decision on a float near-tie
(docs/reproducibility.md). Logs and CI print these facts so that a difference can be traced.
"""
import logging
import platform

CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")

logger = logging.getLogger(__name__)
_bf16_warning_given = False  # warn_if_bf16_emulated logs once per process


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


def bf16_emulation_warning(flags=None, capability=None):
    """The warning for bfloat16 autocast on this CPU when oneDNN emulates bfloat16 there, else None.

    flags: {flag: bool} as cpu_flags() gives (default: this machine's); capability: torch's CPU capability
    name, e.g. 'AVX2' (default: torch.backends.cpu.get_cpu_capability()). Unknown flags ({}, no
    /proc/cpuinfo) give None: no claim is made.
    """
    flags = cpu_flags() if flags is None else flags
    if not flags or bf16_is_native(flags):
        return None
    if capability is None:
        import torch

        capability = torch.backends.cpu.get_cpu_capability()
    return (f"bfloat16 is emulated on this CPU ({capability}: no avx512_bf16 / amx_bf16): TEST.AMP will be ~50-100x "
            "slower than the default fp32; leave TEST.AMP False here (bfloat16 pays only on CPUs with AVX512-BF16 "
            "or AMX-BF16)")


def warn_if_bf16_emulated(flags=None, capability=None):
    """Logs bf16_emulation_warning() once per process, at WARNING; returns True when bfloat16 is native.

    Called where bfloat16 autocast is switched on for a CPU (engine.inference.PosePipeline with amp).
    """
    global _bf16_warning_given
    message = bf16_emulation_warning(flags, capability)
    if message is not None and not _bf16_warning_given:
        _bf16_warning_given = True
        logger.warning(message)
    return message is None
