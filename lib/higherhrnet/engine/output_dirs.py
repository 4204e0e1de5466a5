"""Output and log directories named as the official ones, and the run's logger (algorithm.md §9.3).

    final_output_dir = OUTPUT_DIR / <DATASET.DATASET with ':' -> '_'> / MODEL.NAME / <cfg file name up to its first '.'>
    tb_log_dir       = LOG_DIR    / <same dataset> / MODEL.NAME / <cfg name>_<YYYY-mm-dd-HH-MM>
    log file         = final_output_dir / <phase>_<YYYY-mm-dd-HH-MM>_rank<rank>.log

Only the main process (rank 0) creates directories and writes the log file; other ranks need no folder
(checkpoints are read on rank 0 and broadcast, see engine/checkpoint.py) and print warnings and errors to
stderr only, so a multi-node run works without a filesystem shared between the nodes. The official code
makes the other ranks poll for rank 0's folder instead.
"""
import logging
import os
import sys
import time
from pathlib import Path

from ..errors import OutputFolderError


def run_directories(cfg, cfg_file, time_str):
    """(final_output_dir, tb_log_dir) for a config and the YAML it came from; nothing is created."""
    dataset = cfg.DATASET.DATASET.replace(":", "_")
    cfg_name = os.path.basename(cfg_file).split(".")[0]
    final_output_dir = Path(cfg.OUTPUT_DIR) / dataset / cfg.MODEL.NAME / cfg_name
    tb_log_dir = Path(cfg.LOG_DIR) / dataset / cfg.MODEL.NAME / f"{cfg_name}_{time_str}"
    return final_output_dir, tb_log_dir


def create_logger(cfg, cfg_file, phase, rank=0):
    """Create the run directories (rank 0) and a logger writing to the log file (and console on rank 0).

    Returns (logger, final_output_dir: Path, tb_log_dir: Path). `file_logger()` then writes to the log file
    alone (rank 0), for what belongs in the record but not on the terminal (the full config).
    """
    time_str = time.strftime("%Y-%m-%d-%H-%M")
    final_output_dir, tb_log_dir = run_directories(cfg, cfg_file, time_str)
    if rank == 0:
        make_folder(final_output_dir, "OUTPUT_DIR")
        if phase == "train":  # TensorBoard is written by training only: valid.py leaves no empty run folder
            make_folder(tb_log_dir, "LOG_DIR")

    logger, record = logging.getLogger("higherhrnet"), file_logger()
    for each in (logger, record):
        each.propagate = False
        for handler in list(each.handlers):
            each.removeHandler(handler)
            handler.close()
    formatter = logging.Formatter("%(asctime)-15s %(message)s")
    if rank == 0:
        logger.setLevel(logging.INFO)
        record.setLevel(logging.INFO)
        log_file = final_output_dir / f"{phase}_{time_str}_rank{rank}.log"
        try:
            file_handler = logging.FileHandler(log_file)
        except OSError as error:
            raise OutputFolderError(f"OUTPUT_DIR: cannot write the log file {log_file} "
                                    f"({error.strerror or error})") from None
        console = _ConsoleAboveProgressBars(sys.stdout)
        for handler in (file_handler, console):
            handler.setFormatter(formatter)
            logger.addHandler(handler)
        record.addHandler(file_handler)
    else:
        logger.setLevel(logging.WARNING)
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter(f"[rank {rank}] %(asctime)-15s %(message)s"))
        logger.addHandler(console)
        record.setLevel(logging.CRITICAL + 1)
    return logger, final_output_dir, tb_log_dir


def file_in_the_way(folder):
    """The first of `folder` and its parents that exists but is not a folder (a Path), or None."""
    folder = Path(folder)
    return next((parent for parent in [folder, *folder.parents] if parent.exists() and not parent.is_dir()), None)


def make_folder(folder, key):
    """mkdir -p `folder`; a one-line OutputFolderError naming the config `key` when that is impossible
    (a file in the way, no permission)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        blocker = file_in_the_way(folder)
        reason = f"{blocker} is a file, not a folder" if blocker is not None else (error.strerror or str(error))
        raise OutputFolderError(f"{key}: cannot create the folder {folder}: {reason}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputFolderError(f"{key}: the folder {folder} is not writable")
    return folder


class _ConsoleAboveProgressBars(logging.StreamHandler):
    """Console log lines written with tqdm.write: above a running progress bar, never glued onto it."""

    def emit(self, record):
        try:
            from tqdm import tqdm
            tqdm.write(self.format(record), file=self.stream)
            self.flush()
        except Exception:  # as logging.StreamHandler: a failing console must not stop the run
            self.handleError(record)


def file_logger():
    """The logger that writes to the run's log file only (configured by `create_logger`)."""
    return logging.getLogger("higherhrnet.file")
