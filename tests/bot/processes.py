"""Child processes for black-box tests: `gridbot ...` commands with a clean environment and log files.

Every child runs ``sys.executable -m bot.cli`` (so it works in any venv) with the working tree first on
PYTHONPATH, the caller's environment minus every GRIDBOT_* variable (plus the ones the test sets), and its
stdout/stderr in one log file under the test's directory, so a failure can show what the child said.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parents[2]


def gridbot_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


def child_env(settings: Mapping[str, str]) -> dict[str, str]:
    """The test's environment without stray GRIDBOT_* variables, plus ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GRIDBOT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"  # what a SIGKILLed child printed is in its log
    env.update(settings)
    return env


def free_port() -> int:
    """A port that was free a moment ago (the caller retries if someone takes it meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def run_gridbot(args: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float = 60.0) -> str:
    """Run a short `gridbot` command to completion; its output, or AssertionError with that output."""
    try:
        done = subprocess.run(gridbot_command(*args), env=dict(env), cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"`gridbot {' '.join(args)}` did not finish within {timeout}s: "
                             f"{exc.stdout!r} {exc.stderr!r}") from None
    if done.returncode != 0:
        raise AssertionError(f"`gridbot {' '.join(args)}` exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


@dataclass
class Child:
    """A long-running `gridbot` process whose stdout and stderr go to ``log``."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    _file: IO[bytes] = field(repr=False)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def describe(self) -> str:
        state = "running" if self.alive else f"exited with {self.process.returncode}"
        return f"--- {self.name} (pid {self.process.pid}, {state}), last lines of {self.log}:\n{tail(self.log)}"

    def crash(self, timeout: float = 10.0) -> int:
        """SIGKILL: no signal handler, no `finally`, no flush; returns the exit status."""
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=timeout)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; safe to call on a dead process."""
        try:
            if self.alive:
                self.process.terminate()
                try:
                    self.process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=grace)
        finally:
            self._file.close()


def start_gridbot(name: str, args: Sequence[str], env: Mapping[str, str], cwd: Path) -> Child:
    log = cwd / f"{name}.log"
    file = log.open("ab")
    try:
        process = subprocess.Popen(gridbot_command(*args), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
                                   stdout=file, stderr=subprocess.STDOUT)
    except BaseException:
        file.close()
        raise
    return Child(name, process, log, file)


class Children:
    """Every child a test started, stopped at teardown whatever happened."""

    def __init__(self) -> None:
        self.started: list[Child] = []

    def start(self, name: str, args: Sequence[str], env: Mapping[str, str], cwd: Path) -> Child:
        child = start_gridbot(name, args, env, cwd)
        self.started.append(child)
        return child

    def describe(self) -> str:
        return "\n".join(child.describe() for child in self.started)

    def stop_all(self) -> None:
        errors: list[BaseException] = []
        for child in reversed(self.started):
            try:
                child.stop()
            except BaseException as exc:  # keep stopping the others
                errors.append(exc)
        if errors:
            raise errors[0]


async def eventually(probe: Callable[[], Awaitable[tuple[bool, str]]], *, timeout: float, what: str,
                     watch: Sequence[Child] = (), interval: float = 0.02) -> str:
    """Poll ``probe`` (-> (reached, state)) until reached; AssertionError naming ``what`` otherwise.

    A watched child that exits meanwhile fails at once, with its log."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    state = "(never probed)"
    while True:
        for child in watch:
            if not child.alive:
                raise AssertionError(f"{what}: {child.name} died; last state: {state}\n{child.describe()}")
        reached, state = await probe()
        if reached:
            return state
        if loop.time() > deadline:
            logs = "\n".join(child.describe() for child in watch)
            raise AssertionError(f"{what}: not reached within {timeout:.0f}s; last state: {state}\n{logs}")
        await asyncio.sleep(interval)
