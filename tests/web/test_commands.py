"""`cadence serve` as users start it: a real uvicorn with two worker processes on SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.web.servers import free_port


def _env(home: Path, model: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    env.update({"CADENCE_HOME": str(home), "CADENCE_MODEL": str(model)})
    return env


def test_serve_starts_two_workers_and_answers(tmp_path: Path, tiny_model: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cadence", "serve", "--port", str(port), "--workers", "2"],
        env=_env(tmp_path / "home", tiny_model),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/v1/openapi.json"
                with urllib.request.urlopen(url, timeout=2) as r:
                    status = r.status
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        assert status == 200, proc.stdout.read() if proc.poll() is not None else "no answer"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/patients", timeout=5)
        except urllib.error.HTTPError as err:
            assert err.code == 401
        else:
            raise AssertionError("the API answered without credentials")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "Traceback" not in out, out[-3000:]
    assert (tmp_path / "home" / "cadence.db").exists()


def test_serve_bad_port_is_one_line(tmp_path: Path, tiny_model: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cadence", "serve", "--port", "70000"],
        env=_env(tmp_path / "home", tiny_model),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "--port" in proc.stderr and "Traceback" not in proc.stderr
