"""Running ``m2mdl`` on a real pseudo-terminal, as a user in a shell does.

The pseudo-terminal is the child's controlling terminal, so ``\\x03`` typed there is SIGINT
and ``\\x04`` the end of input, and rich draws what it draws for a person.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sys
import time
from collections.abc import Mapping

#: rich's colour and cursor escapes (NO_COLOR keeps bold and the live display's moves).
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_a_terminal(
    args: list[str],
    env: Mapping[str, str],
    *,
    answer: tuple[bytes, bytes] | None = None,
    timeout: float = 90.0,
) -> tuple[int, str]:
    """Run ``m2mdl ARGS`` with ``env`` on a new pseudo-terminal; with ``answer`` =
    (prompt, keys), type ``keys`` once ``prompt`` shows. The exit code, and what the terminal
    showed without escapes and with ``\\n`` line ends. A run past ``timeout`` is killed."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes m2mdl
        os.execve(sys.executable, [sys.executable, "-m", "m2mdl", *args], dict(env))  # noqa: S606
    seen, typed = b"", False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child has exited and closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if answer is not None and not typed and answer[0] in seen:
                time.sleep(0.2)  # let the child reach its read
                os.write(fd, answer[1])
                typed = True
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = seen.decode("utf-8", "replace")
    assert answer is None or typed, f"the prompt {answer[0]!r} never showed:\n{text}"
    return os.waitstatus_to_exitcode(status), ANSI.sub("", text).replace("\r\n", "\n")
