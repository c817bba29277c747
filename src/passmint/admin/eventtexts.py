"""What an event of a pass says to people: one sentence in the visitor's language, for a
pass's timeline and the dashboard's recent activity. Values that come from outside (a
device model, a message's text) are plain text here; the templates escape them."""

from __future__ import annotations

from typing import Any

from passmint.admin.i18n import Texts
from passmint.models import Event
from passmint.passes import stats
from passmint.passes.events import EventKind


def wallet(t: Texts, event: Event) -> str:
    """Which wallet an event concerns, if any."""
    kind, platform = event.kind, event.platform
    if kind in (EventKind.REGISTERED, EventKind.UNREGISTERED) or (
        kind == EventKind.PUSHED and platform == "ios"
    ):
        return t.gettext("Apple Wallet")
    if kind in (EventKind.INSTALLED, EventKind.UNINSTALLED) or platform == "google":
        return t.gettext("Google Wallet")
    return ""


def describe(t: Texts, event: Event) -> str:
    data: dict[str, Any] = event.data or {}
    kind = event.kind
    device = event.device_model or ""
    if kind == EventKind.ISSUED:
        version = data.get("template_version")
        if version is not None:
            return t.gettext("Issued with version %(version)s of its design", version=version)
        return t.gettext("Issued")
    if kind == EventKind.DOWNLOADED:
        return _downloaded(t, data, device, event.platform)
    if kind == EventKind.REGISTERED:
        if device:
            return t.gettext("Added to Apple Wallet on %(device)s", device=device)
        return t.gettext("Added to Apple Wallet on a device")
    if kind == EventKind.UNREGISTERED:
        return t.gettext("Removed from Apple Wallet on a device")
    if kind == EventKind.UPDATED:
        return _updated(t, data)
    if kind == EventKind.PUSHED:
        return _pushed(t, data, event.platform)
    if kind == EventKind.MESSAGED:
        text = t.gettext(
            "Message sent: “%(header)s”: %(body)s",
            header=str(data.get("header", "")),
            body=str(data.get("body", "")),
        )
        if data.get("pass_changed") is False:
            text += " " + t.gettext("(the Apple pass did not change: its design shows no message)")
        return text
    if kind == EventKind.VOIDED:
        return t.gettext("Voided")
    if kind == EventKind.INSTALLED:
        return t.gettext("Saved to Google Wallet")
    if kind == EventKind.UNINSTALLED:
        return t.gettext("Removed from Google Wallet")
    if kind == EventKind.CODE_GUESSING:
        return t.gettext("Many wrong coupon codes were tried")
    return kind


def _downloaded(t: Texts, data: dict[str, Any], device: str, platform: str | None) -> str:
    where = device or {"ios": "iOS", "android": "Android", "macos": "macOS"}.get(platform or "", "")
    if data.get("via") == "webservice":
        if where:
            return t.gettext("Downloaded by Apple Wallet on %(device)s (an update)", device=where)
        return t.gettext("Downloaded by Apple Wallet (an update)")
    if where:
        return t.gettext("Downloaded from its link on %(device)s", device=where)
    return t.gettext("Downloaded from its link")


def _updated(t: Texts, data: dict[str, Any]) -> str:
    version = data.get("version", "?")
    reason = data.get("reason")
    if reason == "message":
        return t.gettext(
            "Updated to version %(version)s for a message: “%(header)s”",
            version=version,
            header=str(data.get("header", "")),
        )
    if reason == "template":
        return t.gettext(
            "Updated to version %(version)s with version %(design)s of its design",
            version=version,
            design=data.get("template_version", "?"),
        )
    if reason == "voided":
        return t.gettext("Updated to version %(version)s: voided", version=version)
    return t.gettext("Updated to version %(version)s: its data changed", version=version)


def _pushed(t: Texts, data: dict[str, Any], platform: str | None) -> str:
    if platform == "google":
        result = {
            "inserted": t.gettext("created"),
            "patched": t.gettext("updated"),
            "unchanged": t.gettext("unchanged"),
        }.get(str(data.get("result")), str(data.get("result", "")))
        if data.get("message_type"):
            return t.gettext("Sent to Google Wallet with a message (%(result)s)", result=result)
        return t.gettext("Sent to Google Wallet (%(result)s)", result=result)
    apple = stats.apple_push(data)
    if apple.ok:
        return t.gettext("Apple Wallet told of the change: delivered")
    if apple.unregistered:
        return t.gettext("Apple push: the device no longer holds the pass")
    answer = " ".join(str(part) for part in (data.get("status"), data.get("reason")) if part)
    return t.gettext("Apple push not delivered: %(answer)s", answer=answer or "?")
