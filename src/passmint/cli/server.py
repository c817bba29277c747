"""``passmint serve``, ``worker``, ``migrate`` and ``tenants``: running the pass service."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import signal
from typing import Annotated

import typer

from passmint import logs
from passmint.cli.common import fail_on_errors
from passmint.config import QueueMode, get_settings
from passmint.db import run_migrations

tenants = typer.Typer(help="Tenants and their API keys.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Web processes.")] = 1,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Do not run jobs in this process.")
    ] = False,
    log_level: Annotated[
        str | None, typer.Option(help="Lowest level logged (default: PASSMINT_LOG_LEVEL, info).")
    ] = None,
) -> None:
    """Run the web app; in embedded mode (no Redis) it also runs the job worker."""
    import uvicorn
    from uvicorn.config import LOG_LEVELS

    from passmint.cli.processes import run_web, shared_metrics, start_logging

    start_logging(log_level)  # for the web processes too
    settings = get_settings()
    log_level = settings.log_level
    run_migrations(settings.resolved_database_url())
    if asyncio.run(_tenant_count(settings.resolved_database_url())) == 0:
        typer.echo(empty_database_hint(settings.resolved_database_url()), err=True)
    embedded = settings.queue_mode() is QueueMode.EMBEDDED
    if embedded and workers > 1 and not no_worker:
        typer.echo(
            "note: in embedded mode only the first web process would run jobs; "
            "use --no-worker with a separate `passmint worker`",
            err=True,
        )
    factory = "passmint.app:web_app" if no_worker or not embedded else "passmint.app:embedded_app"
    # uvicorn re-raises the SIGTERM it shut down on once it is done; stopping on request
    # is a clean exit (status 0), and a SIGTERM before uvicorn listens ends us at once.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    config = uvicorn.Config(
        factory,
        factory=True,
        log_config=None,  # passmint.logs formats uvicorn's lines too
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        # Below info the access lines are dropped anyway; off, uvicorn skips building them.
        access_log=LOG_LEVELS.get(log_level.lower(), logging.INFO) <= logging.INFO,
        proxy_headers=True,
        # On SIGTERM: no new connections; requests in flight get this long to finish, then
        # the lifespan stops the runtime, whose embedded worker finishes its running jobs.
        timeout_graceful_shutdown=settings.shutdown_grace,
    )
    with shared_metrics(workers):
        run_web(config)  # uvicorn.run, logging why each web process exits


def _exit_cleanly(signum: int, _frame: object) -> None:
    raise SystemExit(0)


async def _tenant_count(url: str) -> int:
    from passmint.db import Database
    from passmint.tenants import service

    db = Database(url)
    try:
        async with db.sessions() as session:
            return await service.count_tenants(session)
    finally:
        await db.dispose()


def empty_database_hint(url: str) -> str:
    """What to do next on a database without tenants (a first start)."""
    return (
        f"passmint: the database ({url}) has no tenant yet. Next:\n"
        "  passmint tenants create 'My Café' --json   # a tenant and its API key\n"
        "  or stop this and run `make demo` (`passmint demo`) for a demo tenant with cards.\n"
        "The API documentation is at /docs once the server runs."
    )


def _run_worker(concurrency: int) -> None:
    from passmint.app import register_jobs
    from passmint.cli.processes import start_logging
    from passmint.runtime import Runtime

    start_logging()  # a spawned worker process starts here

    try:  # the same event loop uvicorn uses for the web processes
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    register_jobs()
    settings = get_settings()
    if settings.queue_mode() is QueueMode.REDIS:
        from arq.worker import run_worker

        from passmint.worker.redis_queue import worker_settings

        assert settings.redis_url
        run_worker(
            worker_settings(
                lambda: Runtime(settings),
                settings.redis_url,
                settings.queue_name,
                concurrency,
                grace=settings.shutdown_grace,
            )
        )
        return

    async def embedded() -> None:
        runtime = Runtime(settings)
        await runtime.start(worker=True, migrate=False)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        logs.announce("worker")
        await stop.wait()
        await runtime.stop()

    asyncio.run(embedded())


def worker(
    processes: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    concurrency: Annotated[int, typer.Option(help="Jobs at once per process.")] = 16,
) -> None:
    """Run jobs: from Redis (production) or by polling the outbox (embedded database)."""
    from passmint.cli.processes import start_logging, watch_workers

    start_logging()
    run_migrations(get_settings().resolved_database_url())
    if processes == 1:
        _run_worker(concurrency)
        return
    ctx = multiprocessing.get_context("spawn")
    children = [ctx.Process(target=_run_worker, args=(concurrency,)) for _ in range(processes)]

    def stop_children(signum: int, _frame: object) -> None:
        # A supervisor stopping us must stop the workers too: orphans would keep taking
        # jobs. Each finishes its running jobs (within the grace period) and exits; we
        # wait for them below and exit 0.
        for child in children:
            if child.is_alive():
                child.terminate()

    signal.signal(signal.SIGTERM, stop_children)
    signal.signal(signal.SIGINT, stop_children)
    logs.announce("worker supervisor")
    for child in children:
        child.start()
    try:
        watch_workers(children)  # logs each child's exit, with its exit code or signal
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
            child.join(timeout=10)


def migrate() -> None:
    """Upgrade the database schema to the newest version."""
    run_migrations(get_settings().resolved_database_url())
    typer.echo("database is up to date")


@tenants.command("create")
def create_tenant(
    name: Annotated[str, typer.Argument(help="The tenant's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a tenant and its first API key (shown once)."""
    from passmint.runtime import Runtime
    from passmint.tenants import service

    if not name.strip():
        raise typer.BadParameter("must not be empty", param_hint="NAME")

    async def run() -> tuple[str, str]:
        runtime = Runtime(get_settings())
        await asyncio.to_thread(run_migrations, runtime.db.url)
        try:
            async with runtime.transaction() as session:
                now = runtime.clock()
                tenant = await service.create_tenant(session, name, now)
                key = await service.create_api_key(session, tenant.id, name="default", now=now)
                return str(tenant.id), key.secret
        finally:
            await runtime.db.dispose()

    tenant_id, api_key = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps({"tenant_id": tenant_id, "api_key": api_key}))
    else:
        typer.echo(f"tenant {tenant_id}\nAPI key (shown once): {api_key}")


@tenants.command("quota")
@fail_on_errors
def tenant_quota(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")],
    kind: Annotated[
        str | None, typer.Argument(help="codes, passes, templates or images (to set it).")
    ] = None,
    limit: Annotated[
        str | None, typer.Argument(help="The tenant's own limit, or 'default' for the setting.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a tenant's quotas (used, limit), or give it its own limit of one kind."""
    import uuid

    from passmint.runtime import Runtime
    from passmint.tenants import quotas

    try:
        owner = uuid.UUID(tenant_id)
        quota = quotas.Quota(kind) if kind is not None else None
        own = None if limit in (None, "default") else int(limit)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if quota is not None and limit is None:
        raise typer.BadParameter("give the limit (a number, or 'default')", param_hint="LIMIT")
    if own is not None and own < 0:
        raise typer.BadParameter("must be 0 or more", param_hint="LIMIT")

    async def run() -> dict[quotas.Quota, tuple[int, int, bool]]:
        runtime = Runtime(get_settings())
        await asyncio.to_thread(run_migrations, runtime.db.url)
        try:
            async with runtime.transaction() as session:
                ctx = runtime.pass_context(session, owner)
                assert ctx.quotas is not None
                if quota is not None:
                    await quotas.set_limit(session, owner, quota, own)
                return await quotas.usage(session, owner, ctx.quotas)
        finally:
            await runtime.db.dispose()

    usage = asyncio.run(run())
    if as_json:
        typer.echo(
            json.dumps(
                {
                    q.value: {"used": used, "limit": cap, "own": mine}
                    for q, (used, cap, mine) in usage.items()
                }
            )
        )
        return
    for q, (used, cap, mine) in usage.items():
        typer.echo(f"{q.value:<10} {used:>10} of {cap:<10} {'(own)' if mine else '(setting)'}")
