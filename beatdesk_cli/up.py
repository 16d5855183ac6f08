"""`beatdesk up`: the review desk, a worker and the scheduler as child processes, with one log and one Ctrl-C.

`up` supervises: a child that exits is started again after a wait that doubles on each exit in a row (capped,
and back to the first once the child had run a while), so a broker or database outage that ends one child
never ends the desk. The children end with `up`, even when `up` is killed outright (SIGKILL), so the next
`up` finds its port free.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import TextIO

from beatdesk.errors import BeatdeskError
from beatdesk_cli.terminal import clean

STOP_GRACE_S = 20.0
"""How long children get to finish after SIGTERM (a worker ends its running tasks) before SIGKILL."""
PR_SET_PDEATHSIG = 1
"""prctl(2): the signal a process gets when the thread that started it ends (Linux)."""


@dataclass(frozen=True)
class Child:
    """One process of the desk: a label for its log lines and the `beatdesk` arguments that run it."""

    name: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Backoff:
    """How long to wait before starting a child that exited: `first_s`, doubled on each exit in a row up to
    `max_s`; a child that had run `reset_after_s` counts as healthy, and its next restart waits `first_s`."""

    first_s: float = 1.0
    max_s: float = 30.0
    reset_after_s: float = 60.0

    def wait_s(self, exits_in_a_row: int) -> float:
        return min(self.max_s, self.first_s * 2 ** max(0, exits_in_a_row - 1))


def desk_children(*, in_process: bool, host: str, port: int, concurrency: int | None, pool: str) -> list[Child]:
    """serve and the scheduler always; a worker only when tasks go through a broker. The worker and the
    scheduler leave the channels' state to `up`, which says it once."""
    children = [Child("serve", ("serve", "--host", host, "--port", str(port)))]
    if not in_process:
        worker = ["worker", "--pool", pool, "--supervised"] + (
            ["--concurrency", str(concurrency)] if concurrency else []
        )
        children.append(Child("worker", tuple(worker)))
    children.append(Child("scheduler", ("scheduler", "--supervised")))
    return children


def check_port_free(host: str, port: int) -> None:
    """One line when another process (an earlier `up`?) holds the desk's port, before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no owner
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise BeatdeskError(f"port {port} on {host} is taken by another process (an earlier `beatdesk "
                                    f"up`?); stop it or give another --port") from None  # fmt: skip
            raise BeatdeskError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


def _die_with_parent() -> Callable[[], None]:
    """A preexec function that has the kernel kill the child when `up` ends, however it ends. Loaded before
    forking, so the child only makes one system call between fork and exec."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # no one is left to wait on a slow shutdown; steps are taken over
        if os.getppid() != parent:  # `up` died before the line above: nobody would signal this child
            os._exit(1)

    return preexec


@dataclass
class Running:
    """A child's current process and its history of exits."""

    child: Child
    process: subprocess.Popen[bytes] | None = None
    pump: threading.Thread | None = None
    started_at: float = 0.0
    exits_in_a_row: int = 0
    start_at: float = 0.0
    """When to start it (again); 0 while it runs."""
    why: str = ""
    """Why it was last restarted, for the "restarted" line."""
    last_line: str = ""
    """The last line it printed: often the reason it exited."""


class Supervisor:
    """Starts the children, prefixes and interleaves their output, restarts the ones that exit, and stops them
    all together. Every child is started from the main thread: the kernel's parent-death signal follows the
    thread that forked, and the main thread lives as long as `up`."""

    def __init__(self, children: Sequence[Child], *, backoff: Backoff | None = None, out: TextIO = sys.stdout) -> None:
        self.children = [Running(c) for c in children]
        self.backoff = backoff or Backoff()
        self.out = out
        self.width = max(len(c.name) for c in children)
        self._write = threading.Lock()
        self._stop = threading.Event()
        self._preexec = _die_with_parent()

    def say(self, name: str, line: str) -> None:
        with self._write:  # a child's log line may quote a title or a provider's answer: cleaned like the rest
            self.out.write(f"{name:<{self.width}} | {clean(line)}\n")
            self.out.flush()

    def _pump(self, running: Running, stream: TextIO) -> None:
        for line in stream:
            line = line.rstrip("\n")
            if line.strip():
                running.last_line = line.strip()
            self.say(running.child.name, line)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stop.set()

    def _start(self, running: Running) -> None:
        env = os.environ | {"PYTHONUNBUFFERED": "1"}
        # Each child leads its own process group: a terminal's Ctrl-C reaches `up` alone, and `up` stops every
        # child (and what it forked, such as a worker's pool) in turn.
        process = subprocess.Popen(
            [sys.executable, "-m", "beatdesk_cli.main", *running.child.args],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=self._preexec,
        )  # fmt: skip
        assert process.stdout is not None
        stream = open(process.stdout.fileno(), encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        running.last_line = ""
        running.pump = threading.Thread(target=self._pump, args=(running, stream), daemon=True)
        running.pump.start()
        running.process, running.started_at, running.start_at = process, time.monotonic(), 0.0
        name = running.child.name
        if running.why:
            self.say("up", f"restarted {name} (pid {process.pid}) after {running.why}")
        else:
            self.say("up", f"started {name} (pid {process.pid}): beatdesk {' '.join(running.child.args)}")

    def _ended(self, running: Running, code: int) -> None:
        if running.pump is not None:
            running.pump.join(timeout=2)  # its last lines (the reason, often) come before ours
        ran_s = time.monotonic() - running.started_at
        running.exits_in_a_row = 1 if ran_s >= self.backoff.reset_after_s else running.exits_in_a_row + 1
        wait_s = self.backoff.wait_s(running.exits_in_a_row)
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        last = running.last_line
        running.why = f"it {how}" + (f" ({last})" if code > 0 and last else "")
        running.process, running.start_at = None, time.monotonic() + wait_s
        self.say("up", f"{running.child.name} {running.why.removeprefix('it ')} after {ran_s:.0f}s; "
                       f"restarting in {wait_s:g}s")  # fmt: skip

    def run(self) -> int:
        """Run until a signal (SIGINT, SIGTERM), restarting children that end; return the exit code for `up`."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        try:
            for running in self.children:
                self._start(running)
            while not self._stop.wait(0.2):
                for running in self.children:
                    if running.process is None:
                        if time.monotonic() >= running.start_at:
                            self._start(running)
                    elif (code := running.process.poll()) is not None:
                        self._ended(running, code)
        finally:
            self.stop()
        return 0

    def stop(self) -> None:
        """SIGTERM to every child's process group, then SIGKILL to any still there after the grace time."""
        running = {r.child.name: r.process for r in self.children if r.process and r.process.poll() is None}
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
        for process in running.values():
            _signal_group(process, signal.SIGKILL)  # anything a child forked and left behind
        for r in self.children:
            if r.pump is not None:
                r.pump.join(timeout=2)  # their last lines come before ours
        self.say("up", "stopped")


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
