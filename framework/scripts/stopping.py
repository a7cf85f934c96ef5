"""Stopping a long script cleanly: SIGINT (Ctrl-C) and SIGTERM become one exception the script can catch.

The script saves as it goes; on a stop it prints one line and exits with the shell's status for a command ended
by that signal (128 + the signal number: 130 for SIGINT, 143 for SIGTERM), so that a job scheduler or a shell
loop sees the run was stopped, not finished.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

EXIT_STATUS = {'SIGINT': 130, 'SIGTERM': 143}


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; a KeyboardInterrupt, so that every library unwinds as it does for Ctrl-C."""

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name


@contextmanager
def stop_on_signals():
    """Turn SIGINT and SIGTERM into ``Stopped`` in the main thread while the block runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Stopped(signal.Signals(signum).name)
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
