"""Whether a process of this host still runs (the drainers watch drain processes, and the
journal file frees what a dead drain had claimed)."""
from __future__ import annotations

import os


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # A process that exited but was not reaped yet (by its parent) is a zombie: gone for us.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (not Linux): kill(0) said it exists
