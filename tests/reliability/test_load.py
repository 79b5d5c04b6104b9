"""Load on loopback: `cadence serve` (SQLite, 2 worker processes on this 2-core machine) under
50 concurrent clinicians browsing pages and the API while 20 generation requests arrive at once,
in two profiles (THINK_S): clinicians reading each page for 1-3 s (the p95 target of 200 ms is
asserted for it), and a stress profile of back-to-back requests past the server's capacity.

A bounded asyncio + httpx client that stops by itself after ``DURATION_S``. Measured: status
counts (0 5xx; past capacity a new job is 503 or 429 with Retry-After), latency percentiles of
page and API reads, and the server's memory (RSS of every process in its group, sampled every
0.5 s). Figures go to out/reliability/load.json.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.conftest import write_report
from tests.reliability.serve import Server, serve_env
from tests.web.conftest import PASSWORD, add_clinician, make_settings

CLINICIANS = 50
GENERATIONS = int(os.environ.get("LOAD_GENERATIONS", "20"))  # 0: browsing alone, for comparison
DURATION_S = 40.0
P95_TARGET_MS = 200.0
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def group_rss_mb(pgid: int) -> float:
    """Resident memory of every process in the group, from /proc (MB)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
    return total / 1024


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# How a clinician browses. "clinic": one request, then 1-3 s reading it (uniform), as a person
# clicks through pages (the latency target is for this). "stress": five requests back to back
# and 0.2 s between rounds: about ten times the requests, to find the server's capacity.
THINK_S = {"clinic": (1.0, 3.0), "stress": (0.0, 0.0)}


async def run_load(
    server: Server, tokens: list[str], codes: list[str], profile: str = "clinic"
) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {"page": [], "api": []}
    statuses: Counter = Counter()
    refusals: list[dict[str, Any]] = []
    rss: list[tuple[float, float]] = []
    signed_in = asyncio.Semaphore(0)
    start = asyncio.Event()  # set once every clinician has signed in
    deadline = 0.0
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends, as browsers do;
    # otherwise a request can race the server closing it ("disconnected without a response").
    limits = httpx.Limits(max_connections=CLINICIANS + GENERATIONS + 5, keepalive_expiry=4.0)
    browser_limits = httpx.Limits(keepalive_expiry=4.0)
    pgid = os.getpgid(server.proc.pid) if server.proc else 0

    async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as shared:

        async def timed(kind: str, client: httpx.AsyncClient, url: str, **kw: Any) -> None:
            t0 = time.perf_counter()
            r = await client.get(url, **kw)
            latencies[kind].append((time.perf_counter() - t0) * 1000)
            statuses[f"{kind} {r.status_code}"] += 1

        async def clinician(i: int) -> None:
            token = tokens[i % len(tokens)]
            code = codes[i % len(codes)]
            auth = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(
                base_url=server.url, timeout=60, limits=browser_limits
            ) as browser:
                page = await browser.get("/signin")
                csrf = CSRF.search(page.text)
                assert csrf, page.text[:200]
                await browser.post("/signin", data={"username": f"c{i % len(tokens)}",
                                                    "password": PASSWORD,
                                                    "csrf_token": csrf.group(1)})  # fmt: skip
                # Sign-in (Argon2id, deliberately slow) is not browsing: 50 of them at once
                # would sit in front of the first pages. Browsing starts when all are in.
                signed_in.release()
                await start.wait()
                rng = random.Random(i)
                low, high = THINK_S[profile]
                rounds = [
                    ("page", browser, "/patients", {}),
                    ("page", browser, f"/patients/{code}", {}),
                    ("api", shared, "/api/v1/patients", {"headers": auth}),
                    ("api", shared, f"/api/v1/patients/{code}", {"headers": auth}),
                    ("api", shared, "/api/v1/jobs", {"headers": auth}),
                ]
                await asyncio.sleep(rng.uniform(0, high))  # not all at the same instant
                while time.monotonic() < deadline:
                    for kind, client, url, kw in rounds:
                        await timed(kind, client, url, **kw)
                        if high:
                            await asyncio.sleep(rng.uniform(low, high))  # reading the page
                    if not high:
                        await asyncio.sleep(0.2)

        async def starter() -> None:
            nonlocal deadline
            for _ in range(CLINICIANS):
                await signed_in.acquire()
            deadline = time.monotonic() + DURATION_S
            start.set()

        async def generation(i: int) -> None:
            await start.wait()
            auth = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
            code = codes[i % len(codes)]
            body = {"goal": "sleep", "minutes": 0.5, "seed": i}
            r = await shared.post(f"/api/v1/patients/{code}/sessions", json=body, headers=auth)
            statuses[f"generate {r.status_code}"] += 1
            if r.status_code in (429, 503):
                refusals.append({"status": r.status_code,
                                 "retry_after": r.headers.get("retry-after")})  # fmt: skip

        async def sample_memory() -> None:
            await start.wait()
            began = time.monotonic()
            while time.monotonic() < deadline:
                rss.append((time.monotonic() - began, group_rss_mb(pgid)))
                await asyncio.sleep(0.5)

        await asyncio.gather(
            starter(),
            *[clinician(i) for i in range(CLINICIANS)],
            *[generation(i) for i in range(GENERATIONS)],
            sample_memory(),
        )
    browsed_s = time.monotonic() - (deadline - DURATION_S)
    return {"latencies": latencies, "statuses": statuses, "refusals": refusals, "rss": rss,
            "browsed_s": browsed_s}  # fmt: skip


@pytest.mark.reliability
@pytest.mark.parametrize("profile", ["clinic", "stress"])
def test_fifty_clinicians_and_twenty_generations(
    tmp_path: Path, tiny_model: Path, profile: str
) -> None:
    home = tmp_path / "home"
    settings = make_settings(home, tiny_model)
    env = serve_env(home, tiny_model, job_workers="1", queue_size="4")
    server = Server(env, tmp_path / "serve.log", workers=2).start()
    try:
        tokens, codes = [], []
        for i in range(10):
            add_clinician(settings, f"c{i}", "therapist")
            r = httpx.post(f"{server.url}/api/v1/auth/tokens",
                           json={"username": f"c{i}", "password": PASSWORD})  # fmt: skip
            token = r.json()["token"]
            tokens.append(token)
            auth = {"Authorization": f"Bearer {token}"}
            r = httpx.post(
                f"{server.url}/api/v1/patients", json={"name": f"Load {i}"}, headers=auth
            )
            code = r.json()["code"]
            httpx.post(f"{server.url}/api/v1/patients/{code}/consent", json={"given": True},
                       headers=auth)  # fmt: skip
            codes.append(code)
        idle_rss = group_rss_mb(os.getpgid(server.proc.pid)) if server.proc else 0.0
        result = asyncio.run(run_load(server, tokens, codes, profile))
        wall = result["browsed_s"]
    finally:
        server.stop()
    lat, statuses, rss = result["latencies"], result["statuses"], result["rss"]
    half = len(rss) // 2
    figures = {
        "profile": profile, "think_s": THINK_S[profile],
        "clinicians": CLINICIANS, "generation_requests": GENERATIONS, "duration_s": round(wall, 1),
        "cores": os.cpu_count(), "server_workers": 2, "job_workers_per_process": 1,
        "queue_size_per_process": 4,
        "requests": {k: len(v) for k, v in lat.items()},
        "throughput_rps": round(sum(len(v) for v in lat.values()) / wall, 1),
        "statuses": dict(statuses),
        "refusals": result["refusals"],
        **{f"{k}_ms": {"p50": round(percentile(v, 0.5), 1), "p95": round(percentile(v, 0.95), 1),
                       "p99": round(percentile(v, 0.99), 1), "max": round(max(v), 1),
                       "mean": round(statistics.fmean(v), 1)}
           for k, v in lat.items() if v},
        "rss_mb": {"idle": round(idle_rss, 1), "max": round(max(r for _, r in rss), 1),
                   "first_half_max": round(max(r for _, r in rss[:half]), 1),
                   "second_half_max": round(max(r for _, r in rss[half:]), 1)},
        "p95_target_ms": P95_TARGET_MS,
    }  # fmt: skip
    write_report(f"load_{profile}" + ("" if GENERATIONS else "_browsing_only"), figures)
    assert not [k for k in statuses if k.split()[1].startswith("5") and k.split()[1] != "503"]
    assert all(s in ("generate 202", "generate 503", "generate 429")
               for s in statuses if s.startswith("generate"))  # fmt: skip
    assert all(r["retry_after"] for r in result["refusals"])
    assert not [k for k in statuses if k.startswith(("page 5", "api 5"))]
    # Memory bounded: the second half of the run needs no more than the first plus 25%.
    assert figures["rss_mb"]["second_half_max"] <= 1.25 * figures["rss_mb"]["first_half_max"]
    slow = {k: figures[f"{k}_ms"]["p95"] for k in ("page", "api")
            if figures[f"{k}_ms"]["p95"] >= P95_TARGET_MS}  # fmt: skip
    if profile == "clinic":
        assert not slow, f"p95 over {P95_TARGET_MS:g} ms: {slow}"
    elif slow:
        # Stress is past the server's capacity on purpose: latency is what queueing makes it,
        # reported (docs/reliability.md), not a failure.
        pytest.xfail(f"stress, past capacity on {os.cpu_count()} cores: p95 {slow}")
