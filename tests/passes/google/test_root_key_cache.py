"""The callback root-key cache fetches by the clock only: once, then again shortly before the
earliest key expires (or after a day), never because of what a request contains."""

from __future__ import annotations

import asyncio

import pytest

from passmint.passes.google.endpoints import (
    KEYS_MARGIN_MS,
    KEYS_MAX_AGE_MS,
    KEYS_MIN_INTERVAL_MS,
    GoogleKeysUnavailable,
    RootKeyCache,
)
from tests.fixtures.google_server import FakeGoogleWallet, running
from tests.passes.google import discovery

DAY_MS = 24 * 60 * 60 * 1000


def fetches(peer: FakeGoogleWallet) -> int:
    """Requests for the keys document, answered or failed."""
    return sum(1 for r in peer.requests if r.path.endswith("/keys"))


def test_keys_are_cached_until_shortly_before_they_expire() -> None:
    with running(discovery()) as peer:
        signer = peer.signer
        signer.root_expiration = signer.now_ms + DAY_MS // 2  # expires before the max age
        cache = RootKeyCache(peer.root_keys_url)

        async def scenario() -> list[int]:
            fetches = []
            now = signer.now_ms
            for at in (now, now + 1, now + DAY_MS // 2 - KEYS_MARGIN_MS - 1):
                keys = await cache.get(at)
                assert len(keys.keys) == 1
                fetches.append(peer.root_key_fetches)
            await cache.get(now + DAY_MS // 2 - KEYS_MARGIN_MS)  # inside the margin: refetch
            fetches.append(peer.root_key_fetches)
            return fetches

        assert asyncio.run(scenario()) == [1, 1, 1, 2]


def test_keys_are_refetched_after_a_day_at_most() -> None:
    with running(discovery()) as peer:
        cache = RootKeyCache(peer.root_keys_url)
        now = peer.signer.now_ms

        async def scenario() -> None:
            await cache.get(now)
            await cache.get(now + KEYS_MAX_AGE_MS - 1)
            assert peer.root_key_fetches == 1
            await cache.get(now + KEYS_MAX_AGE_MS)
            assert peer.root_key_fetches == 2

        asyncio.run(scenario())


def test_unreachable_keys_are_a_503_and_refetched_only_after_an_interval() -> None:
    with running(discovery()) as peer:
        peer.fail(500, times=1, path_contains="/keys")
        cache = RootKeyCache(peer.root_keys_url)
        now = peer.signer.now_ms

        async def scenario() -> None:
            for at in (now, now + 1, now + KEYS_MIN_INTERVAL_MS - 1):  # forged requests, say
                with pytest.raises(GoogleKeysUnavailable) as caught:
                    await cache.get(at)
                assert caught.value.status == 503
            assert fetches(peer) == 1
            keys = await cache.get(now + KEYS_MIN_INTERVAL_MS)
            assert len(keys.keys) == 1
            assert fetches(peer) == 2

        asyncio.run(scenario())


def test_a_failed_refetch_keeps_the_keys_held() -> None:
    with running(discovery()) as peer:
        cache = RootKeyCache(peer.root_keys_url)
        now = peer.signer.now_ms

        async def scenario() -> None:
            await cache.get(now)
            peer.fail(503, times=10, path_contains="/keys")
            later = now + KEYS_MAX_AGE_MS
            for at in (later, later + 1, later + 2):
                assert len((await cache.get(at)).keys) == 1
            assert fetches(peer) == 2

        asyncio.run(scenario())
