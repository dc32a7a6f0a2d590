"""Child processes that never outlive the process that started them (`make run`'s stand-ins, its
Temporal dev server and daphne): on Linux each is started through _pdeathsig_exec.py, which asks the
kernel (PR_SET_PDEATHSIG) to send it SIGTERM when its parent goes, even by SIGKILL.

The kernel ties that to the *thread* that started the child: start children from the main thread
(or one that lives as long as they do). Elsewhere (macOS) only the parent's own clean-up stops them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_SHIM = Path(__file__).with_name("_pdeathsig_exec.py")


def dying_with_parent(command: list[str]) -> list[str]:
    """`command`, started so that it gets SIGTERM when this process dies."""
    if not sys.platform.startswith("linux"):
        return list(command)
    # -I -S: the shim needs only the standard library and starts in milliseconds.
    return [sys.executable, "-I", "-S", str(_SHIM), str(os.getpid()), *command]
