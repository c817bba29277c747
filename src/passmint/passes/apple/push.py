"""Push jobs: tell every registered device that its pass changed (spec §4, checks 26–27).

One job pushes the devices of a batch of passes over the tenant's long-lived APNs client
(one per credential per worker process, HTTP/2-multiplexed). Every device's result goes to
the event log; 410 and dead tokens remove the registration; credential errors are shown on
the credential; retryable failures are pushed again later by a follow-up job.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog

from passmint.kit import metrics
from passmint.models import AppleCredential
from passmint.passes.apple import repository
from passmint.passes.apple.apns import (
    ApnsClient,
    ApnsClientPool,
    CertificateAuth,
    PushResult,
    TokenAuth,
)
from passmint.passes.apple.credentials import CredentialCache, get_credential
from passmint.passes.events import EventKind, record_many
from passmint.passes.service import PUSH_JOB
from passmint.worker.outbox import enqueue
from passmint.worker.registry import JobContext, job

if TYPE_CHECKING:
    from passmint.passes.host import ServiceHost

log = structlog.get_logger("passmint.apple.push")
RETRY_DELAY = timedelta(seconds=30)
MAX_GENERATIONS = 5  # follow-up jobs for devices APNs kept refusing (429/5xx)


def _pool(runtime: ServiceHost) -> ApnsClientPool:
    return runtime.cache("apns", ApnsClientPool)


async def close_clients(runtime: ServiceHost) -> None:
    pool = runtime.caches.pop("apns", None)
    if isinstance(pool, ApnsClientPool):
        await pool.aclose()


async def client_for(runtime: ServiceHost, credential: AppleCredential) -> ApnsClient:
    settings = runtime.settings

    def factory() -> ApnsClient:
        if credential.apns_auth == "token":
            key = CredentialCache.apns_key(credential, runtime.box)
            assert key is not None
            assert credential.apns_key_id
            assert credential.apns_team_id
            auth: CertificateAuth | TokenAuth = TokenAuth(
                key, credential.apns_key_id, credential.apns_team_id
            )
        else:
            auth = CertificateAuth(
                credential.certificate_pem,
                CredentialCache.private_key_pem(credential, runtime.box),
            )
        return ApnsClient(
            auth,
            base_url=settings.apns_url,
            ca_file=settings.apns_ca_file,
            max_concurrency=settings.apns_concurrency,
        )

    return await _pool(runtime).get((credential.id, credential.updated_at), factory)


def _result_name(result: PushResult) -> str:
    """The result label of the pushes metric."""
    if result.ok:
        return "delivered"
    if result.unregistered:
        return "unregistered"
    if result.retryable:
        return "retry"
    if result.credential_error:
        return "credential_error"
    return "rejected"


@job(PUSH_JOB, phased=True)
async def push_passes(ctx: JobContext[ServiceHost], payload: dict[str, Any]) -> None:
    """Read the devices, push them with no transaction open (APNs may take seconds), then
    record every result in one short write transaction that completes the job."""
    runtime = ctx.runtime
    pass_ids = [uuid.UUID(p) for p in payload.get("pass_ids", [])]
    only = {uuid.UUID(r) for r in payload.get("registration_ids", [])}
    by_tenant: dict[uuid.UUID, list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, str]]] = defaultdict(
        list
    )
    credentials: dict[uuid.UUID, AppleCredential] = {}
    async with ctx.read() as session:
        for registration, device, pass_id, token, tenant in await repository.push_targets(
            session, pass_ids
        ):
            if not only or registration in only:
                by_tenant[tenant].append((registration, device, pass_id, token))
        for tenant_id in by_tenant:
            credential = await get_credential(session, tenant_id)
            if credential is not None:
                credentials[tenant_id] = credential
    now = runtime.clock()
    events: list[dict[str, Any]] = []
    dead: list[uuid.UUID] = []
    retry: dict[str, list[str]] = defaultdict(list)
    credential_errors: dict[uuid.UUID, str] = {}
    for tenant_id, rows in by_tenant.items():
        credential = credentials.get(tenant_id)
        if credential is None:
            continue
        client = await client_for(runtime, credential)
        # A device asks for every serial updated since its tag, so one push per token (and
        # pass type) covers all of its passes in the batch; each registration gets the result.
        tokens = list(dict.fromkeys(token for *_, token in rows))
        results = await client.push_many(tokens, credential.pass_type_id)
        for result_name, count in Counter(_result_name(r) for r in results).items():
            metrics.APNS_PUSHES.labels(result_name).inc(count)
        by_token = dict(zip(tokens, results, strict=True))
        for registration, device, pass_id, token in rows:
            result = by_token[token]
            events.append(
                {
                    "tenant_id": tenant_id,
                    "pass_id": pass_id,
                    "kind": EventKind.PUSHED.value,
                    "platform": "ios",
                    "created_at": now,
                    "data": {
                        "device_id": str(device),
                        "status": result.status,
                        "reason": result.reason,
                        "attempts": result.attempts,
                    },
                }
            )
            if result.unregistered:
                dead.append(registration)
            elif result.retryable:
                retry[str(pass_id)].append(str(registration))
            elif result.credential_error:
                credential_errors[credential.id] = f"{result.status} {result.reason}"
        failures = Counter(
            f"{r.status} {r.reason} {r.detail or ''}".strip() for r in results if not r.ok
        )
        if failures:
            log.warning("pushes not delivered", tenant=str(tenant_id), failures=dict(failures))
    async with ctx.write() as session:
        await record_many(session, events)
        await repository.delete_registrations(session, dead)
        for credential_id, error in credential_errors.items():
            await repository.record_push_error(session, credential_id, error[:500], now)
        generation = int(payload.get("generation", 0))
        if retry and generation < MAX_GENERATIONS:
            await enqueue(
                session,
                PUSH_JOB,
                {
                    "pass_ids": sorted(retry),
                    "registration_ids": sorted(r for v in retry.values() for r in v),
                    "generation": generation + 1,
                },
                now=now,
                delay=RETRY_DELAY * (2**generation),
            )
