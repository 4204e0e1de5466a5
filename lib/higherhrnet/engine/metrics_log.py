"""Training curves a user can open without a TensorBoard server: metrics.csv and curves.png in the run folder.

    metrics = RunMetrics(final_output_dir, SummaryWriter(tb_log_dir), begin_epoch)
    metrics.add_scalar("train/loss", 0.12, step)       # what train_one_epoch writes, forwarded to TensorBoard
    metrics.end_epoch(epoch + 1, averages, name_values) # validation metrics to TensorBoard, CSV and PNG written
    metrics.add_image("val/prediction/<image id>", rgb, epoch + 1)  # TensorBoard only (engine/validation_pictures.py)

`RunMetrics` stands in for the TensorBoard writer: every scalar goes to TensorBoard as before and is also
kept, one CSV row per iteration (train_one_epoch writes every iteration's scalars). At each epoch end one more row holds the epoch's average losses and,
after a validation, every metric of the AP table; then metrics.csv and curves.png are rewritten, each into a
temporary file renamed over the old one (a reader never sees half a file, a kill never leaves one).

metrics.csv columns: kind ('step' or 'epoch'), epoch (epochs finished when the row was logged: a step of
the first epoch has epoch 0, that epoch's summary row epoch 1), step (global iteration), then the scalar
tags in order of first appearance: train/loss, train/lr, train/stage{k}/{heatmaps,push,pull}_loss, the
epoch rows' train/epoch/<term> averages and val/<metric> (val/AP, val/AP50, val/AP75, val/APm, val/APl,
val/AR, ...). A cell is empty where the row has no value. On resume the rows of the epochs already done
are kept from the existing metrics.csv.

curves.png: the loss per epoch (total and per stage and term, log scale, with the per-step total behind)
and the validation AP / AR per epoch; drawn with matplotlib's Agg canvas (no display, no pyplot state).
"""
import csv
import math
import os
from pathlib import Path

CSV_NAME = "metrics.csv"
PNG_NAME = "curves.png"
FIXED_COLUMNS = ("kind", "epoch", "step")


def metric_tag(name):
    """TensorBoard / CSV tag of an AP-table name: 'Ap .5' -> 'val/AP50', 'AP (M)' -> 'val/APm', 'AP' -> 'val/AP'."""
    text = name.replace(" ", "")
    head, _, rest = text.partition("(")
    if rest:  # 'AP(M)' -> 'APm', 'AP(easy)' -> 'AP_easy'
        size = rest.rstrip(")")
        text = head + (size.lower() if len(size) == 1 else "_" + size)
    head, dot, rest = text.partition(".")
    if dot:  # 'Ap.5' -> 'AP50', 'AP.75' -> 'AP75'
        text = head.upper() + (rest + "0" if len(rest) == 1 else rest)
    return "val/" + text


def _atomic_write(path, write):
    """Call write(temporary path) then rename it over `path`; the temporary file follows the umask."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


class RunMetrics:
    """A TensorBoard writer stand-in that also keeps every scalar for metrics.csv and curves.png.

    run_dir: the run folder (final_output_dir) that receives metrics.csv and curves.png.
    writer: a torch.utils.tensorboard SummaryWriter, or None (CSV and PNG only).
    begin_epoch: epochs already done (resume); their rows are read back from an existing metrics.csv.
    """

    def __init__(self, run_dir, writer=None, begin_epoch=0):
        self.run_dir, self.writer = Path(run_dir), writer
        self.columns = list(FIXED_COLUMNS)
        self.rows = []            # dicts: column -> value
        self.pending = {}         # step -> row of the epoch in progress
        self.epoch = begin_epoch  # epochs finished
        if begin_epoch > 0 and (self.run_dir / CSV_NAME).is_file():
            self._read_back(begin_epoch)

    def _read_back(self, begin_epoch):
        with open(self.run_dir / CSV_NAME, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            for name in reader.fieldnames or ():
                self._column(name)
            for row in reader:
                if int(row["epoch"]) > begin_epoch or (row["kind"] == "step" and int(row["epoch"]) == begin_epoch):
                    continue
                self.rows.append({key: (value if key == "kind" else int(value) if key in ("epoch", "step")
                                        else float(value)) for key, value in row.items() if value != ""})

    def _column(self, name):
        if name not in self.columns:
            self.columns.append(name)

    def add_scalar(self, tag, value, step):
        """As SummaryWriter.add_scalar; the value is also kept in the step row of `step`."""
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)
        row = self.pending.setdefault(step, {"kind": "step", "epoch": self.epoch, "step": step})
        row[tag] = float(value)
        self._column(tag)

    def add_image(self, tag, picture, step):
        """A TensorBoard image (RGB uint8 (H, W, 3)) at `step` (the validations' epochs_done); not in the CSV."""
        if self.writer is not None:
            self.writer.add_image(tag, picture, step, dataformats="HWC")

    def end_epoch(self, epochs_done, averages, name_values=None, step=None):
        """Close an epoch: keep its step rows and a summary row, log validation metrics, rewrite CSV and PNG.

        epochs_done: epochs finished (the epoch index + 1, the x of the curves); averages: {stage{k}_{term}:
        average loss over the epoch}; name_values: the AP table {name: value} when the epoch was validated.
        step: global iteration of the summary row (default: the last step row's).
        """
        steps = sorted(self.pending)
        self.rows.extend(self.pending[s] for s in steps)
        self.pending = {}
        last_step = step if step is not None else (steps[-1] if steps else
                                                   max((r["step"] for r in self.rows), default=0))
        row = {"kind": "epoch", "epoch": epochs_done, "step": last_step}
        for key, value in averages.items():
            row[f"train/epoch/{key}"] = float(value)
        if averages:
            row["train/epoch/loss"] = float(sum(averages.values()))
        for name, value in (name_values or {}).items():
            row[metric_tag(name)] = float(value)
            if self.writer is not None:
                self.writer.add_scalar(metric_tag(name), float(value), epochs_done)
        for key in row:
            self._column(key)
        self.rows.append(row)
        self.epoch = epochs_done
        self.write()

    def write(self):
        """metrics.csv and curves.png from the rows so far (each written atomically)."""
        def write_csv(path):
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=self.columns, restval="")
                writer.writeheader()
                for row in self.rows:
                    writer.writerow({key: (f"{value:.6g}" if isinstance(value, float) else value)
                                     for key, value in row.items()})

        _atomic_write(self.run_dir / CSV_NAME, write_csv)
        _atomic_write(self.run_dir / PNG_NAME, lambda path: draw_curves(self.rows, path))

    def flush(self):
        if self.writer is not None:
            self.writer.flush()

    def close(self):
        if self.writer is not None:
            self.writer.close()


def _series(rows, kind, column, x_of):
    points = [(x_of(row), row[column]) for row in rows if row["kind"] == kind and column in row
              and math.isfinite(row[column])]
    return [x for x, _ in points], [y for _, y in points]


def draw_curves(rows, path):
    """Write the PNG of `rows` (as RunMetrics keeps them): loss per epoch left, validation metrics right."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.2), dpi=100)
    FigureCanvasAgg(figure)
    loss_axes, val_axes = figure.subplots(1, 2)
    epoch_rows = [row for row in rows if row["kind"] == "epoch"]
    step_rows = [row for row in rows if row["kind"] == "step"]
    # steps placed on the epoch axis: a step of epoch e at e + (its position among that epoch's steps)
    per_epoch = {}
    for row in step_rows:
        per_epoch.setdefault(row["epoch"], []).append(row)
    step_x = {}
    for epoch, members in per_epoch.items():
        for position, row in enumerate(members):
            step_x[id(row)] = epoch + (position + 1) / len(members)
    xs, ys = _series(step_rows, "step", "train/loss", lambda row: step_x[id(row)])
    positive = [(x, y) for x, y in zip(xs, ys) if y > 0]
    if positive:
        loss_axes.plot(*zip(*positive), color="0.8", linewidth=0.8, label="loss per step")
    term_columns = sorted({key for row in epoch_rows for key in row if key.startswith("train/epoch/")})
    for column in ["train/epoch/loss"] + [c for c in term_columns if c != "train/epoch/loss"]:
        xs, ys = _series(epoch_rows, "epoch", column, lambda row: row["epoch"])
        points = [(x, y) for x, y in zip(xs, ys) if y > 0]
        if points:
            loss_axes.plot(*zip(*points), marker="o", markersize=3, linewidth=2 if column.endswith("/loss") else 1,
                           label=column.rsplit("/", 1)[-1])
    if loss_axes.lines:
        loss_axes.set_yscale("log")
        loss_axes.legend(fontsize=7)
    loss_axes.set(title="training loss", xlabel="epoch", ylabel="loss")
    loss_axes.grid(alpha=0.3)
    val_columns = [key for key in dict.fromkeys(k for row in epoch_rows for k in row) if key.startswith("val/")]
    for column in val_columns:
        xs, ys = _series(epoch_rows, "epoch", column, lambda row: row["epoch"])
        if xs:
            main_metric = column in ("val/AP", "val/AR")
            val_axes.plot(xs, ys, marker="o", markersize=3, linewidth=2 if main_metric else 0.8,
                          alpha=1.0 if main_metric else 0.6, label=column[4:])
    if val_axes.lines:
        highest = max(max(line.get_ydata()) for line in val_axes.lines)
        val_axes.set_ylim(0, max(0.05, 1.1 * highest))  # AP / AR live in [0, 1]: keep 0 at the bottom
        val_axes.legend(fontsize=7, ncol=2)
    else:
        val_axes.text(0.5, 0.5, "no validation yet (TRAIN.VAL_FREQ)", ha="center", va="center",
                      transform=val_axes.transAxes)
    val_axes.set(title="validation", xlabel="epoch", ylabel="AP / AR")
    val_axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, format="png")
