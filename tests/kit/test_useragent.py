from __future__ import annotations

import pytest

from passmint.kit import lengths
from passmint.kit.useragent import parse_user_agent


@pytest.mark.parametrize(
    ("ua", "platform", "model"),
    [
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15",
            "ios",
            "iPhone",
        ),
        ("PassBook/1.0 CFNetwork/1568.100.1 Darwin/24.0.0", "ios", "iPhone"),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP1A) AppleWebKit/537.36",
            "android",
            "Pixel 8",
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 Chrome/130 Mobile",
            "android",
            None,
        ),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15", "macos", "Mac"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "windows", None),
        (None, "other", None),
    ],
)
def test_platform_and_model(ua: str | None, platform: str, model: str | None) -> None:
    client = parse_user_agent(ua)
    assert (client.platform, client.device_model) == (platform, model)


def test_ios_version() -> None:
    assert (
        parse_user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)").os_version
        == "18.1"
    )


def test_a_model_is_cut_to_the_event_log_s_column() -> None:
    """The header is the client's: an endless model name must not overflow the column."""
    ua = f"Mozilla/5.0 (Linux; Android 14; {'M' * 300}) AppleWebKit/537.36 Chrome/130 Mobile"
    model = parse_user_agent(ua).device_model
    assert model == "M" * lengths.DEVICE_MODEL
