"""Staff-account jobs: sending the emails the services sealed into the outbox."""

from __future__ import annotations

from typing import Any

import structlog

from passmint.passes.host import ServiceHost
from passmint.tenants import mail
from passmint.worker.registry import JobContext, job

log = structlog.get_logger("passmint.tenants")


@job(mail.SEND_JOB, phased=True)
async def send_mail(ctx: JobContext[ServiceHost], payload: dict[str, Any]) -> None:
    """Send one email with no transaction open (an SMTP failure is retried with backoff).
    Enqueued while SMTP was configured and run after it no longer is: dropped, logged."""
    config = mail.SmtpConfig.from_settings(ctx.runtime.settings)
    if config is None:
        log.warning("an email is dropped: PASSMINT_SMTP_HOST is not set any more")
        return
    await mail.send(config, mail.unseal(ctx.runtime.box, payload))
