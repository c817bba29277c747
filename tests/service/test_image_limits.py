"""Images cannot starve the server: decode size is bounded by what the largest slot needs,
uploads are decoded in full, and Pillow works off the event loop, a few images at a time
(issue 13, item 7). Timings are in bench/images.py; these tests check order, not time."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from passmint.kit import offload
from passmint.models import Asset
from passmint.runtime import Runtime
from passmint.wallet.apple import images
from passmint.wallet.apple.images import MAX_PIXELS
from tests.fixtures.images import png, png16
from tests.service.conftest import auth, cafe_design

pytestmark = pytest.mark.anyio
PNG = {"Content-Type": "image/png"}


@functools.cache
def hostile() -> bytes:
    """The issue's image: 6300×6300, 16-bit, a few hundred KB on disk, 238 MB decoded."""
    return png16(6300, 6300)


async def upload(client: httpx.AsyncClient, key: str, data: bytes) -> httpx.Response:
    return await client.post("/api/v1/images", headers={**auth(key), **PNG}, content=data)


async def test_the_6300_px_16_bit_png_is_refused_at_upload_naming_the_limit(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    response = await upload(client, tenant["api_key"], hostile())
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "image_too_many_pixels"
    assert error["details"]["max_pixels"] == MAX_PIXELS == 2250 * 2250
    assert (error["details"]["width"], error["details"]["height"]) == (6300, 6300)
    assert "5,062,500" in error["message"]


async def test_the_largest_accepted_source_is_stored_and_used(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    stored = await upload(client, key, png16(2250, 2250))
    assert stored.status_code == 201, stored.text
    assert (stored.json()["width"], stored.json()["height"]) == (2250, 2250)
    design = await cafe_design(client, key)
    design["images"]["strip"] = stored.json()["id"]
    saved = await client.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "Big strip", "style": "storeCard", "design": design},
    )
    assert saved.status_code == 201, saved.text
    over = await upload(client, key, png16(2251, 2250))
    assert over.json()["error"]["code"] == "image_too_many_pixels"


async def test_a_truncated_png_is_refused_at_upload(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    """Accepted at upload before (only its header was read), refused when a template used
    it. Now every pixel is decoded at upload."""
    whole = png(600, 600)
    response = await upload(client, tenant["api_key"], whole[: len(whole) * 2 // 3])
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "image_corrupt"


async def test_an_image_stored_before_the_limit_is_refused_when_a_template_uses_it(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str]
) -> None:
    """The issue: saving a template that used the 6300 px image cost +310 MB and 3-4 s of
    event loop per slot. Images uploaded before the limit are refused from their header."""
    key = tenant["api_key"]
    data = hostile()
    async with runtime.transaction() as session:
        asset = Asset(
            tenant_id=uuid.UUID(tenant["tenant_id"]),
            sha256=hashlib.sha256(data).hexdigest(),
            content_type="image/png",
            width=6300,
            height=6300,
            data=data,
            created_at=runtime.clock(),
        )
        session.add(asset)
        await session.flush()
        asset_id = str(asset.id)
    design = await cafe_design(client, key)
    design["images"]["strip"] = asset_id
    saved = await client.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "Old strip", "style": "storeCard", "design": design},
    )
    assert saved.status_code == 422, saved.text
    assert saved.json()["error"]["details"]["problems"][0]["code"] == "image_too_many_pixels"


class Gate:
    """Wraps the image engine's decoder: each call waits (on its own thread) until the
    gate opens, and the gate counts how many calls wait together. If decoding ran on the
    event loop, waiting would block the loop, and nothing else could answer meanwhile."""

    def __init__(self, decode: Callable[..., Image.Image]) -> None:
        self.decode = decode
        self.opened = threading.Event()
        self.lock = threading.Lock()
        self.waiting = self.most = self.calls = 0
        self.deadlocked = False
        self.threads: set[int] = set()

    def __call__(self, *args: Any, **kwargs: Any) -> Image.Image:
        with self.lock:
            self.calls += 1
            self.waiting += 1
            self.most = max(self.most, self.waiting)
            self.threads.add(threading.get_ident())
        if not self.opened.wait(timeout=10):
            # Only a deadlock gets here (decoding on the loop, where nothing can open the
            # gate): open it for all, and let the test fail on the order of events.
            self.deadlocked = True
            self.opened.set()
        with self.lock:
            self.waiting -= 1
        return self.decode(*args, **kwargs)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    gate = Gate(images._open)
    monkeypatch.setattr(images, "_open", gate)
    yield gate
    gate.opened.set()


async def test_a_healthy_request_answers_while_8_hostile_image_requests_run(
    client: httpx.AsyncClient, tenant: dict[str, str], request: pytest.FixtureRequest
) -> None:
    """The issue: 4 concurrent template saves stalled other requests for 13.5 s. Here 4
    uploads and 4 template saves of the largest accepted image (2250×2250, 16-bit) run at
    once; while their decoding is held, a healthy request answers; only then do they go
    on, at most as many at a time as the process has cores."""
    key = tenant["api_key"]
    strips = []
    for n in range(4):
        stored = await upload(client, key, png16(2250 - n, 2250))
        assert stored.status_code == 201, stored.text
        strips.append(stored.json()["id"])
    designs = []
    for strip in strips:
        design = await cafe_design(client, key)
        design["images"]["strip"] = strip
        designs.append(design)
    sources = [png16(2246 - n, 2250) for n in range(4)]
    gate: Gate = request.getfixturevalue("gate")
    main_thread = threading.get_ident()

    finished: list[str] = []

    async def hostile_upload(data: bytes) -> int:
        response = await upload(client, key, data)
        finished.append("hostile")
        return response.status_code

    async def hostile_save(design: dict[str, Any]) -> int:
        response = await client.post(
            "/api/v1/templates",
            headers=auth(key),
            json={"name": "Hostile", "style": "storeCard", "design": design},
        )
        finished.append("hostile")
        return response.status_code

    tasks = [asyncio.create_task(hostile_upload(data)) for data in sources]
    tasks += [asyncio.create_task(hostile_save(design)) for design in designs]
    # Until the pool's threads all hold a hostile image (or, were decoding to run on the
    # loop, until the requests got through it without the healthy one).
    wanted = min(offload.WORKERS, len(tasks))
    while gate.calls < wanted and not all(t.done() for t in tasks):  # noqa: ASYNC110
        await asyncio.sleep(0.01)  # the gate fills from the pool's threads: nothing to await
    healthy = await client.get("/api/v1/programs", headers=auth(key))
    finished.append("healthy")
    gate.opened.set()
    statuses = await asyncio.gather(*tasks)

    assert healthy.status_code == 200
    assert finished[0] == "healthy"
    assert not gate.deadlocked
    assert statuses == [201] * 8
    assert main_thread not in gate.threads  # Pillow never ran on the event loop's thread
    assert gate.most <= offload.WORKERS  # however many requests bring images
    assert gate.calls >= 8
