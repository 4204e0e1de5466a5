"""Keep freed memory in a data worker's heap instead of handing it back to the kernel (glibc only).

Every training sample allocates a handful of buffers of 1-5 MB (decoded image, warped image, input tensor,
heatmaps). glibc serves allocations above its mmap threshold with fresh pages from the kernel and returns
freed memory at the top of the heap once it exceeds the trim threshold, so nearly every buffer is made of
new pages, and each first touch of a page costs a page fault. On a small VM those faults can take about
half of the pipeline's time (`python tools/benchmark.py --only pipeline` measures both settings).

`keep_freed_memory` raises both thresholds (mmap 32 MiB, trim 64 MiB): the buffers are then reused from
the heap. A process holds at most about 64 MiB of freed memory more than before. Values and random
streams do not change, only where buffers live. It is applied in DataLoader workers (`seed_worker`) and
in a training process that makes its own samples (WORKERS 0).

It does nothing when the C library is not glibc, or when the user set MALLOC_MMAP_THRESHOLD_ or
MALLOC_TRIM_THRESHOLD_ (glibc's own variables for the same settings, which then win).
"""
import ctypes
import ctypes.util
import os
import sys

MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024
# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_USER_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def _glibc():
    """The loaded glibc as a ctypes library, or None on another C library / platform."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # only glibc has it
        libc.mallopt
    except (OSError, AttributeError):
        return None
    return libc


def keep_freed_memory():
    """Set glibc's mmap / trim thresholds for this process (see the module doc); True if they were set."""
    if any(name in os.environ for name in _USER_VARIABLES):
        return False
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    libc.mallopt.restype = ctypes.c_int
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and \
        bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
