"""Platform and device model from a User-Agent header (for the event log)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from passmint.kit import lengths

_ANDROID_MODEL = re.compile(
    r"Android [\d.]+; (?:[a-z]{2}[-_][a-zA-Z]{2}; )?([^;)]+?)(?: Build/[^;)]*)?[;)]"
)
_IOS_VERSION = re.compile(r"(?:iPhone )?OS (\d+)[_.](\d+)")


@dataclass(frozen=True)
class Client:
    platform: str  # ios, android, macos, windows, linux, other
    device_model: str | None
    os_version: str | None


def parse_user_agent(ua: str | None) -> Client:
    text = ua or ""
    version = None
    if match := _IOS_VERSION.search(text):
        version = f"{match[1]}.{match[2]}"
    for apple_model in ("iPhone", "iPad", "iPod", "Apple Watch"):
        if apple_model in text:
            return Client("ios", apple_model, version)
    if text.startswith(("PassBook/", "Passbook/")) or "PassKit" in text:
        # Wallet's own requests (the web service and pass fetches) come from iOS devices.
        return Client("ios", "iPhone", version)
    if "Android" in text:
        android = re.search(r"Android ([\d.]+)", text)
        model_match = _ANDROID_MODEL.search(text)
        # the header is the client's to fill: keep what fits the event log's column
        model = str(model_match[1]).strip()[: lengths.DEVICE_MODEL] if model_match else None
        return Client(
            "android", model if model and model != "K" else None, android[1] if android else None
        )
    if "Macintosh" in text or "Mac OS X" in text:
        return Client("macos", "Mac", None)
    if "Windows" in text:
        return Client("windows", None, None)
    if "Linux" in text or "X11" in text:
        return Client("linux", None, None)
    return Client("other", None, None)
