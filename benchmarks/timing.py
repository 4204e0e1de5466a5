"""Wall-clock helpers shared by the measurements: medians after warm-up, first call against warmed calls."""
import statistics
import time


def median_time_ms(function, repeats, warmup=0):
    """Median wall time of `repeats` calls after `warmup` untimed ones, in milliseconds, and the last result."""
    result = None
    for _ in range(warmup):
        result = function()
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0, result


def first_and_warm_ms(function, repeats, warmup=1):
    """(first call ms, median ms of `repeats` timed calls, their ms) of `function`, after `warmup` untimed calls.

    The first of the untimed calls (at least one) is timed apart: it pays what is done once per input
    shape (oneDNN primitive creation, onnxruntime's shape inference and allocations).
    """
    start = time.perf_counter()
    function()
    first = (time.perf_counter() - start) * 1000.0
    for _ in range(warmup - 1):
        function()
    runs = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        function()
        runs.append((time.perf_counter() - start) * 1000.0)
    return first, statistics.median(runs), runs
