"""What a forked ``neverlog serve`` runs (tests.live_server.start_process): the command's own
``api.cli.main``, in a child of a process that has imported the app once (multiprocessing's
fork server, which preloads this module). Each server then costs its start-up and its work,
not the 1.3 s of CPU of importing the app in a new interpreter.

Imports nothing of the test suite: the fork server holds the app's modules and no others."""

from __future__ import annotations

import os
import sys

from api import cli


def serve(args: list[str], env: dict[str, str], cwd: str, log_path: str) -> None:
    """``python -m api.cli ARGS`` with ``env`` as its whole environment, run from ``cwd``, its
    standard output and error in ``log_path``; exits with the command's status."""
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = [cli.__file__, *args]
    sys.exit(cli.main(args))
