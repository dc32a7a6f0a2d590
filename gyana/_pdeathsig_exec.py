"""Run a program that is sent SIGTERM when the process that started it dies.

    python -I -S _pdeathsig_exec.py PARENT_PID PROGRAM [ARGS...]

Linux only does this (prctl PR_SET_PDEATHSIG, kept across execve); elsewhere the program is simply
exec'd. It is a separate script rather than a `preexec_fn`, because a `preexec_fn` runs Python in
a forked copy of a multi-threaded process (daphne, pytest with helper threads), where a lock held
by another thread at fork time can deadlock the child before it execs. This process has one thread.

Standard library only, run with -I -S: it starts in a few milliseconds and needs no site-packages.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main() -> None:
    parent_pid = int(sys.argv[1])
    program = sys.argv[2:]
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            error = ctypes.get_errno()
            sys.exit(f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(error)}")
        # The parent may have died between fork and prctl: then no signal would ever come.
        if os.getppid() != parent_pid:
            sys.exit("the parent process exited before the program started")
    os.execv(program[0], program)


if __name__ == "__main__":
    main()
