"""The goals of benchmarks/targets.json checked against a results dict: one row per target.

A target of the file: name, measure (a key of MEASURES), compare ('<=', '>=', 'true' or 'equal'), goal (a
number, {'reference': figure, 'divided_by' | 'times': factor}, or a word for 'true' / 'equal'), unit.
A measure is a function of the results; it gives None when its section ran without producing the number
(e.g. bf16 not timed), and its target is left out when its section did not run. A measure may give
{label: value}, one row per label; the target's name then holds '{setting}'.
"""
import json
import statistics
from pathlib import Path

from .training import OFFICIAL_STEP

TARGETS_FILE = Path(__file__).resolve().parent / "targets.json"


def _mean(values):
    return statistics.fmean(values) if values else None


def _decoder_images(results, path):
    images = results["decoder"]["images"]
    return _mean([entry[path]["decoder"] for entry in images])


def _decoder_speedup(results):
    fast, reference = _decoder_images(results, "fast"), _decoder_images(results, "reference")
    return reference / fast if fast and reference else None


def _crowd(results, num_persons):
    return next((entry for entry in results["decoder"]["crowd"] if entry["num_persons"] == num_persons), None)


def _crowd_time(results, num_persons):
    entry = _crowd(results, num_persons)
    return entry["fast"]["total"] if entry else None


def _crowd_speedup(results, num_persons):
    entry = _crowd(results, num_persons)
    return entry["reference"]["total"] / entry["fast"]["total"] if entry else None


def _all_identical(entries):
    return all(entry["identical"] for entry in entries) if entries else None


def _end_to_end(results, precision):
    return results["network"]["end_to_end"].get(precision)


def _overhead_percent(results, total_key):
    fp32 = _end_to_end(results, "fp32")
    if not fp32 or total_key not in fp32:
        return None
    return 100.0 * (fp32[total_key] / fp32["forward"] - 1)


def _bf16_speedup(results, total_key):
    fp32, bf16 = _end_to_end(results, "fp32"), _end_to_end(results, "bf16")
    if not fp32 or not bf16 or total_key not in fp32 or total_key not in bf16:
        return None
    return fp32[total_key] / bf16[total_key]


def _loss_speedup(results):
    loss = results["train"]["loss"]
    return loss["reference_forward"] / loss["forward"] if "reference_forward" in loss else None


def _step_speedup(results, name):
    """Official-style fp32 step time / the package's step `name` (same batches, same run), or None."""
    steps = results["train"]["step"]
    if OFFICIAL_STEP not in steps or name not in steps:
        return None
    return steps[OFFICIAL_STEP]["step_ms"] / steps[name]["step_ms"]


# measure -> (section it reads, function of the results)
MEASURES = {
    "decoder_sample_ms": ("decoder", lambda r: _decoder_images(r, "fast")),
    "decoder_sample_speedup": ("decoder", _decoder_speedup),
    "decoder_sample_identical": ("decoder", lambda r: _all_identical(r["decoder"]["images"])),
    "crowd_30_ms": ("decoder", lambda r: _crowd_time(r, 30)),
    "crowd_30_speedup": ("decoder", lambda r: _crowd_speedup(r, 30)),
    "crowd_identical": ("decoder", lambda r: _all_identical(r["decoder"]["crowd"])),
    "end_to_end_fp32_overhead_network_maps": ("network", lambda r: _overhead_percent(r, "total")),
    "end_to_end_fp32_overhead_gt_maps": ("network", lambda r: _overhead_percent(r, "total_gt_decoder")),
    "end_to_end_bf16_speedup_network_maps": ("network", lambda r: _bf16_speedup(r, "total")),
    "end_to_end_bf16_speedup_gt_maps": ("network", lambda r: _bf16_speedup(r, "total_gt_decoder")),
    "loss_ms": ("train", lambda r: r["train"]["loss"]["forward"]),
    "loss_speedup": ("train", _loss_speedup),
    "train_fp32_vs_official": ("train", lambda r: _step_speedup(r, "fp32_without_data")),
    "train_bf16_vs_official": ("train", lambda r: _step_speedup(r, "bf16_without_data")),
    "data_pipeline_samples_per_s": ("train", lambda r: r["train"]["data_pipeline"]["workers_0_samples_per_s"]),
    "default_ap_equals_official": ("accuracy", lambda r: {setting: (row["default"], row["official"])
                                                          for setting, row in r["accuracy"]["ap"].items()}),
}
COMPARISONS = ("<=", ">=", "true", "equal")


def load_targets(path=TARGETS_FILE):
    """(targets, reference figures) of a targets file; raises ValueError on an unknown measure or comparison."""
    content = json.loads(Path(path).read_text())
    for target in content["targets"]:
        if target["measure"] not in MEASURES:
            raise ValueError(f"{path}: unknown measure {target['measure']!r}; valid: {', '.join(MEASURES)}")
        if target["compare"] not in COMPARISONS:
            raise ValueError(f"{path}: unknown comparison {target['compare']!r}; valid: {', '.join(COMPARISONS)}")
    return content["targets"], content.get("reference_figures", {})


def goal_value(goal, figures):
    """A numeric goal: the number itself, or a reference figure divided by / times a factor."""
    if not isinstance(goal, dict):
        return goal
    figure = figures[goal["reference"]]["value"]
    return figure / goal["divided_by"] if "divided_by" in goal else figure * goal["times"]


def _number(value, unit):
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    if unit == "x":
        return f"{text}x"
    if unit == "%":
        return f"{value:+.1f} %"
    return f"{text} {unit}"


def _goal_text(target, figures):
    if target["compare"] in ("true", "equal"):
        return str(target["goal"])
    goal, unit = goal_value(target["goal"], figures), target.get("unit", "")
    return f"{target['compare']} +{goal:g} %" if unit == "%" else f"{target['compare']} {_number(goal, unit)}"


def _row(name, target, measured, figures):
    compare, row = target["compare"], {"name": name, "target": _goal_text(target, figures)}
    if measured is None:
        return dict(row, measured="not measured", met=None)
    if compare == "true":
        return dict(row, measured=str(bool(measured)), met=bool(measured))
    if compare == "equal":
        value, expected = measured
        return dict(row, measured=f"{value:.4f} vs {expected:.4f}",
                    met=abs(value - expected) <= target.get("tolerance", 0.0))
    goal = goal_value(target["goal"], figures)
    met = measured <= goal if compare == "<=" else measured >= goal
    return dict(row, measured=_number(measured, target.get("unit", "")), met=bool(met))


def evaluate_targets(results, targets=None, figures=None):
    """[{name, target, measured, met}] for every target whose section is in `results` (met None: not measured)."""
    if targets is None:
        targets, figures = load_targets()
    rows = []
    for target in targets:
        section, measure = MEASURES[target["measure"]]
        if not results.get(section):
            continue
        measured = measure(results)
        if isinstance(measured, dict):
            rows += [_row(target["name"].format(setting=label), target, value, figures or {})
                     for label, value in measured.items()]
        else:
            rows.append(_row(target["name"], target, measured, figures or {}))
    return rows
