"""SIGTERM is handled as Ctrl-C is: every clean-up runs, and the tools cwpkg started stop too.

When cwpkg leads its process group (a shell or CI runner started it), SIGTERM is passed on to the
group, so a running make or clang ends at once instead of finishing its work. The command then ends
as an interrupted one, with the shell's status for SIGTERM (143) rather than Ctrl-C's (130).
"""

from __future__ import annotations

import os
import signal

terminated = False


def stop_children() -> None:
    """Records the termination and passes it on to the process group cwpkg leads."""
    global terminated
    terminated = True
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the group's SIGTERM is not for cwpkg again
    if os.getpgrp() == os.getpid():
        os.killpg(0, signal.SIGTERM)


def on_sigterm(signum, frame) -> None:
    stop_children()
    raise KeyboardInterrupt


def exit_status() -> int:
    """The status of an interrupted command."""
    return 143 if terminated else 130
