"""The callback root-key cache fetches by the clock only: once, then again shortly before the
earliest key expires (or after a day), never because of what a request contains."""

from __future__ import annotations

import asyncio

import pytest

from passmint.passes.google.endpoints import (
    KEYS_MARGIN_MS,
    KEYS_MAX_AGE_MS,
    GoogleKeysUnavailable,
    RootKeyCache,
)
from tests.fixtures.google_server import running
from tests.passes.google import discovery

DAY_MS = 24 * 60 * 60 * 1000


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


def test_unreachable_keys_are_a_503_not_a_crash() -> None:
    with running(discovery()) as peer:
        peer.fail(500, times=1, path_contains="/keys")
        cache = RootKeyCache(peer.root_keys_url)
        with pytest.raises(GoogleKeysUnavailable) as caught:
            asyncio.run(cache.get(peer.signer.now_ms))
        assert caught.value.status == 503
