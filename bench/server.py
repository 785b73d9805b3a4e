"""A real ``orientation serve`` for the benchmarks: a free port, the CLI, waiting until it
answers. One copy, used by the load, writers and sync benches."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, env: dict[str, str]) -> str:
    """``orientation ARGS`` in a subprocess; its standard output."""
    result = subprocess.run([sys.executable, "-m", "orientation.cli", *args], env=env,
                            capture_output=True, text=True, check=True)
    return result.stdout


def wait_up(process: subprocess.Popen, base: str, *, seconds: float = 120) -> None:
    """Return once ``base``/healthz answers 200; exit the bench (with the server's last
    words) if the server stops or does not answer within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            said = process.stderr.read()[-2000:] if process.stderr else ""
            sys.exit(f"server did not start: {said}")
        time.sleep(0.2)
