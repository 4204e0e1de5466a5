"""data/worker_memory.py: freed sample-sized buffers are reused instead of faulted in again (glibc)."""
import json
import os
import subprocess
import sys

import pytest

from higherhrnet.data.worker_memory import _glibc

# Allocates and frees, 20 times over, four buffers like one sample's (6 MB each, 24 MB freed together: more
# than glibc's default trim threshold after its dynamic adjustment), touching every page; prints the minor
# page faults of the last 10 rounds.
CHILD = """
import json, resource, sys
import numpy as np
from higherhrnet.data.worker_memory import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "on" else False
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for round_index in range(20):
    if round_index == 10:
        start = faults()
    buffers = [np.ones(6 * 1024 * 1024 // 8) for _ in range(4)]
    del buffers
print(json.dumps({"applied": applied, "faults": faults() - start}))
"""


def run_child(mode, extra_env=None):
    env = dict(os.environ, **(extra_env or {}))
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        if not extra_env or name not in extra_env:
            env.pop(name, None)
    output = subprocess.run([sys.executable, "-c", CHILD, mode], env=env, check=True, capture_output=True,
                            text=True).stdout
    return json.loads(output)


@pytest.mark.slow
@pytest.mark.skipif(_glibc() is None, reason="the allocator setting exists only with glibc (Linux)")
def test_keep_freed_memory_stops_page_faults_of_reused_buffers():
    default = run_child("off")
    kept = run_child("on")
    assert kept["applied"] is True
    pages_per_round = 4 * 6 * 1024 * 1024 // 4096
    assert default["faults"] > pages_per_round  # the default allocator faults buffers in again (~3 rounds' worth)
    assert kept["faults"] < pages_per_round // 10 and kept["faults"] * 20 < default["faults"]


@pytest.mark.slow
def test_keep_freed_memory_leaves_user_settings_alone():
    result = run_child("on", {"MALLOC_TRIM_THRESHOLD_": "1000000"})
    assert result["applied"] is False
