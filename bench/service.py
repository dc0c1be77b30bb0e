"""Service benchmark: 50 concurrent HTTP clients on metadata calls and on runs, against a bare app.

Seeds a small publisher x advertiser room (the demo's, through the client over HTTP), starts a
real ``workbench serve`` on a free 127.0.0.1 port, and in the same run a bare FastAPI app under
the same uvicorn that answers the same paths with the same JSON (captured from the real service)
and does nothing else. Each target then gets N concurrent keep-alive clients for a fixed time;
the report gives p50/p95/p99 latency, calls/s and the ratios real/bare.

The load generator is a small asyncio HTTP/1.1 client (one coroutine per client, raw sockets), so
it costs little CPU next to the server on a 2-core machine. Everything is bounded in time and
stopped by PID.

    python bench/service.py --clients 50 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port nobody listens on right now (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Call:
    """One kind of request the clients repeat."""

    method: str
    path: str
    body: bytes = b""


@dataclass(frozen=True)
class Result:
    """What one load phase measured."""

    label: str
    calls: int
    errors: list[int]
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def line(self) -> str:
        return (f"{self.label:<34} {self.rate:>9.0f}/s  p50 {self.pct(.50):7.1f} ms  "
                f"p95 {self.pct(.95):7.1f} ms  p99 {self.pct(.99):7.1f} ms  "
                f"non-2xx {dict(Counter(self.errors)) or 0}")


async def _client(port: int, token: str, calls: list[Call], stop_at: float, start_at: float,
                  out: list[float], errors: list[int], offset: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            call = calls[i % len(calls)]
            i += 1
            head = (f"{call.method} {call.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: Bearer {token}\r\nContent-Length: {len(call.body)}\r\n")
            if call.body:
                head += "Content-Type: application/json\r\n"
            writer.write(head.encode() + b"\r\n" + call.body)
            t0 = time.perf_counter()
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            t1 = time.perf_counter()
            if t0 >= start_at:
                out.append((t1 - t0) * 1000)
                status = int(status_line.split(b" ")[1])
                if status >= 300:
                    errors.append(status)
    finally:
        writer.close()


async def _load(port: int, token: str, calls: list[Call], clients: int, seconds: float,
                warmup: float) -> tuple[list[float], int, float]:
    start_at = time.perf_counter() + warmup
    stop_at = start_at + seconds
    out: list[float] = []
    errors: list[int] = []
    await asyncio.gather(*(_client(port, token, calls, stop_at, start_at, out, errors, k)
                           for k in range(clients)))
    return out, errors, seconds


def measure(label: str, port: int, token: str, calls: list[Call], clients: int, seconds: float,
            warmup: float = 1.0) -> Result:
    """Run ``clients`` concurrent clients for ``seconds`` (after a warm-up) and summarise."""
    latencies, errors, elapsed = asyncio.run(_load(port, token, calls, clients, seconds, warmup))
    return Result(label, len(latencies), errors, elapsed, latencies)


# -- the bare app: same framework and server, the same JSON, nothing else -------------------------

def bare_main(port: int, payload_file: str, threads: int) -> None:
    """Serve the captured JSON bodies by path (GET and POST): a sync FastAPI route under uvicorn,
    in a threadpool of the same size, as the service's routes run."""
    import contextlib

    import anyio.to_thread
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import Response

    bodies = {k: v.encode() for k, v in json.loads(Path(payload_file).read_text()).items()}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    app = FastAPI(lifespan=lifespan)

    def answer(rest: str) -> Response:
        return Response(bodies["/" + rest], media_type="application/json")

    app.add_api_route("/{rest:path}", answer, methods=["GET", "POST"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# -- the real service -------------------------------------------------------------------------------

def _wait(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--run-clients", type=int, default=10,
                        help="concurrent clients of the run phase (runs are serialised by the ledger)")
    parser.add_argument("--run-seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=64, help="threadpool of the bare app")
    parser.add_argument("--users", type=int, default=5000, help="publisher rows seeded")
    parser.add_argument("--profile", type=Path, help="py-spy the service during the metadata phase "
                        "into this file (collapsed stacks)")
    parser.add_argument("--bare", nargs=2, metavar=("PORT", "PAYLOADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_main(int(args.bare[0]), args.bare[1], args.threads)
        return
    args.clients = max(1, min(args.clients, 200))
    args.seconds = max(1.0, min(args.seconds, 120.0))
    args.run_clients = max(1, min(args.run_clients, 200))
    args.run_seconds = max(1.0, min(args.run_seconds, 300.0))

    import httpx

    import workbench as wb
    from workbench.demo import seed
    try:
        from workbench.governance.orgs import bootstrap
    except ImportError:  # before the governance split
        from workbench.governance.operations import bootstrap  # type: ignore[no-redef]
    from workbench.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="workbench-bench-service-"))
    key = secrets.token_hex(16)
    store_dir = tmp / "store"
    store = Store.open(store_dir, key, create=True)
    created = bootstrap(store, "Publisher", "pat")
    store.close()
    port, bare_port = free_port(), free_port()
    env = {**os.environ, "WORKBENCH_STORE_KEY": key}
    log = open(tmp / "serve.log", "w")
    served = subprocess.Popen([sys.executable, "-m", "workbench.cli", "serve", "--store", str(store_dir),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    bare = None
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(f"{url}/api/v1/health", served)
        owner = wb.connect(url, created.token.secret)
        info = seed(owner, lambda token: wb.connect(url, token), n_users=args.users,
                    n_customers=args.users // 2, progress=False)
        room = info["room_id"]
        analyst = next(u["token"] for u in info["users"] if u["name"] == "ann")
        question = owner.questions(room)[1].id
        # the room's concurrent-run limits (default 2 per user, 4 per room) would answer most of the
        # run phase with 429 Busy; the bench measures runs, so it lets every client run at once
        owner.set_run_limits(room, max_concurrent_per_user=args.run_clients,
                             max_concurrent_per_room=args.run_clients)
        metadata = [Call("GET", f"/api/v1/rooms/{room}"), Call("GET", f"/api/v1/rooms/{room}/datasets")]
        run = Call("POST", f"/api/v1/rooms/{room}/questions/{question}/runs",
                   json.dumps({"parameters": {}, "epsilon": "0.01"}).encode())
        payloads = {}
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {analyst}"}) as http:
            for call in metadata:
                payloads[call.path] = http.get(call.path).raise_for_status().text
            payloads[run.path] = http.post(run.path, content=run.body,
                                           headers={"Content-Type": "application/json"}).raise_for_status().text
        (tmp / "payloads.json").write_text(json.dumps(payloads))
        bare = subprocess.Popen([sys.executable, __file__, "--bare", str(bare_port), str(tmp / "payloads.json"),
                                 "--threads", str(args.threads)], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        _wait(f"http://127.0.0.1:{bare_port}/api/v1/rooms/{room}", bare)

        results = [measure("bare: metadata", bare_port, analyst, metadata, args.clients, args.seconds)]
        spy = None
        if args.profile:
            spy = subprocess.Popen(["py-spy", "record", "--pid", str(served.pid), "--format", "raw",
                                    "--duration", str(int(args.seconds) + 1), "--output", str(args.profile),
                                    "--threads", "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results += [
            measure("workbench: metadata", port, analyst, metadata, args.clients, args.seconds),
            measure("bare: run", bare_port, analyst, [run], args.run_clients, args.run_seconds),
            measure("workbench: run", port, analyst, [run], args.run_clients, args.run_seconds),
        ]
        if spy is not None:
            spy.wait(timeout=60)
        print(f"\n{args.clients} concurrent clients on metadata, {args.run_clients} on runs, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, load generator in this process\n")
        for r in results:
            print(r.line())
        for kind in ("metadata", "run"):
            b, s = (next(r for r in results if r.label == f"{who}: {kind}") for who in ("bare", "workbench"))
            print(f"{kind}: workbench/bare calls/s {s.rate / b.rate:.2f}x, p99 {s.pct(.99) / b.pct(.99):.1f}x")
        meta = next(r for r in results if r.label == "workbench: metadata")
        verdict = "MET" if meta.pct(.99) < 100 and meta.rate >= 1000 else "NOT MET"
        print(f"target (metadata p99 < 100 ms and >= 1,000 calls/s): {verdict}")
        owner.close()
    finally:
        if bare is not None:
            _stop(bare)
        _stop(served)
        log.close()
        print(f"(server log: {tmp / 'serve.log'})" if "--keep" in sys.argv else "", end="")


if __name__ == "__main__":
    main()
