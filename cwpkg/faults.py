"""Deterministic fault injection at the steps of a sysroot transaction, for the kill trials.

Every step that changes the sysroot calls `checkpoint(label)`. With `CWPKG_CHECKPOINT_LOG` set, each
step appends "N label" to that file first (N counts this process's checkpoints from 1); with
`CWPKG_KILL_AT_CHECKPOINT=N`, the process then kills itself with SIGKILL at step N, the moment a
power cut or `kill -9` could strike. A test runs a command once to list its steps, then once per
step with a kill there, and reads the log to prove where each kill landed. Unset, a checkpoint costs
one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

LOG_VARIABLE = "CWPKG_CHECKPOINT_LOG"
KILL_VARIABLE = "CWPKG_KILL_AT_CHECKPOINT"

_count = 0


def checkpoint(label: str) -> None:
    global _count
    log = os.environ.get(LOG_VARIABLE)
    if log is None:
        return
    _count += 1
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"{_count} {label}\n")
        handle.flush()
        os.fsync(handle.fileno())
    if os.environ.get(KILL_VARIABLE) == str(_count):
        os.kill(os.getpid(), signal.SIGKILL)
