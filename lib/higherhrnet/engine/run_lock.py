"""One training run per output folder: an exclusive lock on `<final_output_dir>/.run.lock`.

The lock is an `fcntl.flock` on the open file, held by rank 0 for the whole run; the kernel releases it
when the process ends in any way (exit, crash, kill -9), so a lock file left behind is never stale in
effect. The file records the holder's pid and host, named in the error a second run gets.

Checkpoints are written through temporary `.<name>.<random>.tmp` files (engine/checkpoint.py). Those
left by a killed run are removed only once the lock is held, so a second run can never delete the
in-flight write of a running one.
"""
import fcntl
import os
import socket
from pathlib import Path

from ..errors import UserError

LOCK_NAME = ".run.lock"


class RunLockError(UserError, RuntimeError):
    """Another training run holds the output folder."""


class RunLock:
    """The held lock of one output folder; `release()` (or process exit) frees it."""

    def __init__(self, folder, handle):
        self.folder, self._handle = Path(folder), handle

    def release(self):
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def acquire_run_lock(folder):
    """Lock `folder` (which exists) for this process, or raise RunLockError naming the other process."""
    path = Path(folder) / LOCK_NAME
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown process"
        handle.close()
        raise RunLockError(f"{folder}: another training run ({holder}) is using this output folder; wait for "
                           f"it to finish or give this run another OUTPUT_DIR") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
    handle.flush()
    return RunLock(folder, handle)


def remove_unfinished_writes(lock, logger):
    """Delete the `.*.tmp` checkpoint writes a killed run left in the locked folder; returns their names."""
    removed = []
    for stale in sorted(lock.folder.glob(".*.tmp")):
        logger.warning(f"removing {stale.name}, an unfinished checkpoint write of an interrupted run")
        stale.unlink(missing_ok=True)
        removed.append(stale.name)
    return removed
