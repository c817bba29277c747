"""The one SMTP sender, and the emails of staff accounts (invitations, password resets).

An email is never sent inside a request: the service seals it (the link in it is a
credential, so the outbox row holds it encrypted with the master key) into an outbox job
written with the change (:func:`enqueue`); after commit a worker opens it and sends it
(:func:`send`, aiosmtplib) with no transaction open. Without ``PASSMINT_SMTP_HOST`` no
email is sent: the admin app shows the link for the owner to hand over.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Final
from urllib.parse import urlsplit

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.config import Settings
from passmint.kit.crypto import SecretBox
from passmint.worker.outbox import enqueue as enqueue_job

SEND_JOB: Final = "tenants.send_mail"
_PURPOSE: Final = "passmint outbox mail"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool | None = None
    """True: required; False: never; None: when the server offers it."""
    tls: bool = False
    timeout: float = 15.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        """The ``PASSMINT_SMTP_*`` settings, or None when no SMTP host is set."""
        if not settings.smtp_host:
            return None
        host = urlsplit(settings.public_url).hostname or "localhost"
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from or f"passmint <passmint@{host}>",
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            tls=settings.smtp_tls,
            timeout=settings.smtp_timeout,
        )


def smtp_configured(settings: Settings) -> bool:
    """Whether passmint sends email (else the admin app shows links to hand over)."""
    return bool(settings.smtp_host)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str

    def message(self, sender: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = self.to
        message["Subject"] = self.subject
        domain = sender.rpartition("@")[2].rstrip(">") or None
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        return message


async def send(config: SmtpConfig, mail: Mail) -> None:
    """Deliver ``mail`` through the SMTP server (raises aiosmtplib's errors)."""
    await aiosmtplib.send(
        mail.message(config.sender),
        hostname=config.host,
        port=config.port,
        username=config.username,
        password=config.password,
        use_tls=config.tls,
        start_tls=config.starttls if not config.tls else False,
        timeout=config.timeout,
    )


async def enqueue(session: AsyncSession, box: SecretBox, mail: Mail, *, now: datetime) -> None:
    """Send ``mail`` after this transaction commits (a rollback sends nothing)."""
    sealed = box.encrypt(json.dumps(mail.__dict__).encode(), purpose=_PURPOSE)
    await enqueue_job(
        session, SEND_JOB, {"mail": base64.b64encode(sealed).decode("ascii")}, now=now
    )


def unseal(box: SecretBox, payload: dict[str, Any]) -> Mail:
    """The mail a :func:`enqueue` job carries."""
    opened = box.decrypt(base64.b64decode(payload["mail"]), purpose=_PURPOSE)
    return Mail(**json.loads(opened))


# -- the staff emails ----------------------------------------------------------------------------


def _html(paragraphs: list[str], link: str, button: str) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    href = html.escape(link, quote=True)
    return (
        '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">'
        f'{body}<p><a href="{href}">{html.escape(button)}</a></p>'
        f'<p style="color:#666;font-size:smaller">{html.escape(link)}</p></body></html>'
    )


def invitation_mail(
    *, to: str, tenant: str, role: str, inviter: str | None, link: str, days: int
) -> Mail:
    who = inviter or "The owner"
    tenant = " ".join(tenant.split())  # a header holds one line
    lines = [
        f"{who} invites you to {tenant} on passmint, as {role}.",
        f"Open this link within {days} days to accept and choose your password:",
    ]
    text = "\n\n".join([*lines, link, "If you did not expect this, ignore this email."]) + "\n"
    return Mail(
        to=to,
        subject=f"You are invited to {tenant} on passmint",
        text=text,
        html=_html(
            [*lines[:1], "If you did not expect this, ignore this email."],
            link,
            "Accept the invitation",
        ),
    )


def reset_mail(*, to: str, link: str, minutes: int) -> Mail:
    lines = [
        "Someone asked to reset the password of your passmint account.",
        f"Open this link within {minutes} minutes to choose a new one:",
    ]
    closing = "If it was not you, ignore this email: your password stays as it is."
    return Mail(
        to=to,
        subject="Reset your passmint password",
        text="\n\n".join([*lines, link, closing]) + "\n",
        html=_html([lines[0], closing], link, "Choose a new password"),
    )
