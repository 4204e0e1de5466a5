"""Speed benchmarks of HigherHRNet, outside the installed package: run them with tools/benchmark.py.

One module per section, each holding what its measurement processes run and how the section drives them:
    decoder.py              per sample image every test stage; fast and reference decoders on crowded maps
    network.py              network variants (fp32 / bf16, channels-last, batched flip); end to end
    shapes.py               first call per new input shape; a folder of mixed-size photos through Predictor
    latency.py              Predictor latency, torch against onnxruntime
    training.py             data pipeline per worker, loss, training steps (fp32 / bf16)
    pipeline_comparison.py  the package's data pipeline against the loop pipeline of the data tests
    accuracy.py             AP effect of the switches and precision levers that change results
and what they share:
    options.py              the sections, BenchmarkOptions and the defaults
    runner.py               options -> results dict (machine facts, sections, targets)
    isolated.py, tasks.py   every measurement in a fresh process (tools/benchmark.py --child)
    inputs.py               config and seeded network, sample images and their annotations
    timing.py               medians after warm-up; first call against warmed calls
    decoder_stages.py       the real decoder per stage (parse(timings=...)), fast and reference paths
    data_pipeline.py        samples/s of a dataset and of DataLoaders
    targets.json, targets.py  the project's speed goals, checked against each run
    report.py               the results as plain-text tables

The benchmarks time the package against the official-style references the tests check it with, and on the
tests' ground-truth maps: tests/perfect_maps.py, tests/loss_reference.py, tests/data/data_loop_reference.py.
tools/benchmark.py puts the repository root on sys.path, which makes `benchmarks` and `tests` importable.
"""
