"""Speed benchmark of the whole system (issue 6): test pipeline stage by stage, network variants, training.

    maps.py      decoder inputs built from ground truth (sample images, crowded synthetic scenes)
    network.py   per-image stages (read .. aggregation), network variants (fp32 / bf16, channels-last,
                 batched flip), end to end
    training.py  data pipeline per worker, loss, training steps (fp32 / bf16, with and without data)
    accuracy.py  AP effect of the switches that change results, on the fixtures' tiny model
    runner.py    options -> results dict, and the issue's targets checked against it
    report.py    the results as plain-text tables

The decoder's fast and reference (official loops) paths are timed by `codec.benchmark.time_decoders` on
the same maps in the same run, so their ratio is meaningful on a shared, noisy CPU.
Command line: tools/benchmark.py.
"""
from .report import format_results
from .runner import SECTIONS, BenchmarkOptions, run_benchmark

__all__ = ["SECTIONS", "BenchmarkOptions", "format_results", "run_benchmark"]
