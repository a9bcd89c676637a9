"""What ``neverlog`` says where a person makes a common mistake: one line, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.live_server import REPO


def test_serve_says_in_one_line_that_the_port_is_taken() -> None:
    # given a port that something listens on
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        # when
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )

    # then
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"neverlog: cannot listen on 127.0.0.1:{port} (Address already in use): another program "
        f"uses it; stop it, or pick another port (neverlog serve --port {port + 1}, "
        f"make run PORT={port + 1})"
    ]
