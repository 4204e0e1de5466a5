"""Every measurement in its own fresh Python process: nothing a previous variant did can distort the next.

A process that has already run one variant carries state into the next: oneDNN's primitive caches and the
kernels it made for each input shape, the allocator's heap, thread pools, autocast caches. Variants timed one
after another in one process therefore depend on their order. `run_in_fresh_process` starts a new
interpreter (`tools/benchmark.py --child TASK_FILE`), which runs one function of `tasks.TASKS` with the
given keyword arguments and writes its result as JSON; the parent only collects the results. Ratios between
variants are still best taken within one run (the same machine load).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENTRY_POINT = Path(__file__).resolve().parents[1] / "tools" / "benchmark.py"


class TaskError(RuntimeError):
    """A measurement process failed (its traceback went to stderr)."""


def run_in_fresh_process(task, arguments, threads):
    """The result of `tasks.TASKS[task](**arguments)`, computed in a new process with `threads` threads.

    arguments: JSON-able keyword arguments. The child sets OMP_NUM_THREADS and torch's intra-op threads
    to `threads`. Returns the task's dict with 'process' added: pid, torch_threads, cpu_capability,
    load_average ([1-minute load at the task's start, at its end], as the child saw them), spawned_at
    (time.time() at the start, in the parent), startup_s (spawn to the task's first line: interpreter and
    imports) and wall_s (spawn to exit).
    """
    with tempfile.TemporaryDirectory(prefix="benchmark_task_") as folder:
        task_file, result_file = Path(folder) / "task.json", Path(folder) / "result.json"
        task_file.write_text(json.dumps({"task": task, "arguments": arguments, "threads": int(threads),
                                         "result_file": str(result_file)}))
        environment = dict(os.environ, OMP_NUM_THREADS=str(int(threads)))
        spawned_at = time.time()
        completed = subprocess.run([sys.executable, str(ENTRY_POINT), "--child", str(task_file)],
                                   env=environment, stdout=subprocess.PIPE, text=True)
        wall_s = time.time() - spawned_at
        if completed.returncode != 0 or not result_file.is_file():
            output = completed.stdout.strip()[-2000:]
            raise TaskError(f"benchmark task {task!r} failed in its own process (exit code {completed.returncode}); "
                            f"its traceback is on stderr above" + (f"; its output:\n{output}" if output else ""))
        result = json.loads(result_file.read_text())
    process = result["process"]
    process.update(spawned_at=spawned_at, startup_s=process.pop("task_started_at") - spawned_at, wall_s=wall_s)
    return result
