"""``passmint serve``, ``worker``, ``migrate`` and ``tenants``: running the pass service."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import signal
from typing import Annotated

import typer

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
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the web app; in embedded mode (no Redis) it also runs the job worker."""
    import uvicorn
    from uvicorn.config import LOG_LEVELS

    settings = get_settings()
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
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        # Below info the access lines are dropped anyway; off, uvicorn skips building them.
        access_log=LOG_LEVELS.get(log_level.lower(), logging.INFO) <= logging.INFO,
        proxy_headers=True,
    )


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
    from passmint.runtime import Runtime

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
                lambda: Runtime(settings), settings.redis_url, settings.queue_name, concurrency
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
        await stop.wait()
        await runtime.stop()

    asyncio.run(embedded())


def worker(
    processes: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    concurrency: Annotated[int, typer.Option(help="Jobs at once per process.")] = 16,
) -> None:
    """Run jobs: from Redis (production) or by polling the outbox (embedded database)."""
    run_migrations(get_settings().resolved_database_url())
    if processes == 1:
        _run_worker(concurrency)
        return
    ctx = multiprocessing.get_context("spawn")
    children = [ctx.Process(target=_run_worker, args=(concurrency,)) for _ in range(processes)]

    def stop_children(signum: int, _frame: object) -> None:
        # A supervisor stopping us must stop the workers too: orphans would keep taking jobs.
        for child in children:
            if child.is_alive():
                child.terminate()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop_children)
    signal.signal(signal.SIGINT, stop_children)
    for child in children:
        child.start()
    try:
        for child in children:
            child.join()
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
