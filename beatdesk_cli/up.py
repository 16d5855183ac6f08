"""`beatdesk up`: the review desk, a worker and the scheduler as child processes, with one log and one Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType
from typing import TextIO

from beatdesk_cli.terminal import clean

STOP_GRACE_S = 20.0
"""How long children get to finish after SIGTERM (a worker ends its running tasks) before SIGKILL."""


@dataclass(frozen=True)
class Child:
    """One process of the desk: a label for its log lines and the `beatdesk` arguments that run it."""

    name: str
    args: tuple[str, ...]


def desk_children(*, in_process: bool, host: str, port: int, concurrency: int | None, pool: str) -> list[Child]:
    """serve and the scheduler always; a worker only when tasks go through a broker."""
    children = [Child("serve", ("serve", "--host", host, "--port", str(port)))]
    if not in_process:
        worker = ["worker", "--pool", pool] + (["--concurrency", str(concurrency)] if concurrency else [])
        children.append(Child("worker", tuple(worker)))
    children.append(Child("scheduler", ("scheduler",)))
    return children


class Supervisor:
    """Starts the children, prefixes and interleaves their output, and stops them all together."""

    def __init__(self, children: Sequence[Child], *, out: TextIO = sys.stdout) -> None:
        self.children = list(children)
        self.out = out
        self.width = max(len(c.name) for c in self.children)
        self._write = threading.Lock()
        self._stop = threading.Event()
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._pumps: list[threading.Thread] = []

    def say(self, name: str, line: str) -> None:
        with self._write:  # a child's log line may quote a title or a provider's answer: cleaned like the rest
            self.out.write(f"{name:<{self.width}} | {clean(line)}\n")
            self.out.flush()

    def _pump(self, name: str, stream: TextIO) -> None:
        for line in stream:
            self.say(name, line.rstrip("\n"))

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stop.set()

    def run(self) -> int:
        """Run until a signal (SIGINT, SIGTERM) or until a child ends; return the exit code for `up`."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        env = os.environ | {"PYTHONUNBUFFERED": "1"}
        code = 0
        try:
            for child in self.children:
                # Each child leads its own process group: a terminal's Ctrl-C reaches `up` alone, and `up`
                # stops every child (and what it forked, such as a worker's pool) in turn.
                process = subprocess.Popen(
                    [sys.executable, "-m", "beatdesk_cli.main", *child.args],
                    env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
                self._processes[child.name] = process
                assert process.stdout is not None
                stream = open(process.stdout.fileno(), encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
                pump = threading.Thread(target=self._pump, args=(child.name, stream), daemon=True)
                pump.start()
                self._pumps.append(pump)
                self.say("up", f"started {child.name} (pid {process.pid}): beatdesk {' '.join(child.args)}")
            while not self._stop.wait(0.2):
                ended = next(((n, p) for n, p in self._processes.items() if p.poll() is not None), None)
                if ended:
                    name, process = ended
                    self.say("up", f"{name} exited with code {process.returncode}; stopping the others")
                    code = process.returncode or 1
                    break
        finally:
            self.stop()
        return code

    def stop(self) -> None:
        """SIGTERM to every child's process group, then SIGKILL to any still there after the grace time."""
        running = {n: p for n, p in self._processes.items() if p.poll() is None}
        if running:
            self.say("up", f"stopping {', '.join(running)}")
        for process in running.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for name, process in running.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say("up", f"{name} did not stop within {STOP_GRACE_S:g}s; killed")
                _signal_group(process, signal.SIGKILL)
                process.wait()
        for process in self._processes.values():
            _signal_group(process, signal.SIGKILL)  # anything a child forked and left behind
        for pump in self._pumps:
            pump.join(timeout=2)  # their last lines come before ours
        self.say("up", "stopped")


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
