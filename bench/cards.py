"""Benchmark: loyalty cards opened with their passes per second on PostgreSQL, beside bare
passes issued from the same template, in the same run.

    python -m bench.cards [--cards 1000] [--clients 16] [--processes 2] [--rounds 3]
        [--customers] [--pgbench-seconds 10]

Seeds a tenant (with its Apple credential), one store-card template, a points program
backed by it (a purchase rule, a visit rule with a daily cap, three tiers over calendar
years, rolling expiry: the program of ``bench.activities``) and an API key. Then
``--processes`` passmint processes (2 by default: the target is two cores, as
``passmint serve --workers 2`` runs), each with its own runtime and its share of the
``--clients`` concurrent clients, run four phases in every round, one transaction per item:

- bare passes through the service: ``passes.service.issue_pass`` of the program's
  template, no loyalty account (the baseline: what a card's pass costs on its own);
- cards through the service: ``loyalty.customers.create_account`` (the card, its number and
  referral code, tier, welcome rules, and its pass with the card's data in it);
- the same two through HTTP, in-process through the ASGI app (API key, Idempotency-Key,
  JSON in and out, the audit log): ``POST /api/v1/passes`` and
  ``POST /api/v1/programs/{id}/accounts``.

``--customers`` opens every card for a new customer (external id and email), matched or
created in the same transaction; without it cards are anonymous, as ``bench.activities``
opens them. Every process warms each path up first; phases alternate inside each round
(so host noise hits them alike), start together on a barrier, and are timed from the
barrier to the last process done; each figure is the median of the rounds, printed with
the CPU time passmint's processes spent per item. After each round every card is checked
to have its pass.

Targets (issue 15): opening a card with its pass within 2× the cost of issuing a bare pass
(card rate ≥ 0.5 × bare rate, through the service and through HTTP), and cards opened with
their passes at ≥ 1,000 a second on two cores.

First, in the same run, ``pgbench -N`` with 32 clients on a scratch database of the same
server (``--pgbench-seconds``, 10 by default; 0 skips it); every figure is then also
printed as a share of it.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import pgbench
from bench.activities import CONFIG  # the same program
from bench.seed import SECRET_KEY, pg_url, recreate, seed_base
from passmint.app import create_app
from passmint.config import QueueMode, Settings
from passmint.kit.ids import uuid7
from passmint.loyalty import common, customers, programs
from passmint.loyalty.schemas import CustomerIn, ProgramConfig
from passmint.passes import service as pass_service
from passmint.runtime import Runtime
from passmint.tenants import service as tenants

RATIO_TARGET = 0.5  # a card costs at most 2× a bare pass: its rate ≥ half the bare rate
RATE_TARGET = 1000.0  # cards opened with their passes per second on two cores (issue 15)
PHASES = ("bare passes, service", "cards, service", "bare passes, HTTP", "cards, HTTP")
CARD_PHASES = frozenset({PHASES[1], PHASES[3]})
TIMEOUT = 1800.0

Job = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Seeded:
    url: str
    tenant: uuid.UUID
    template: uuid.UUID
    program: uuid.UUID
    api_key: str


@dataclass(frozen=True)
class Result:
    """One process's part of a phase: when it started and ended (``time.perf_counter``,
    one clock for every process of the machine) and the CPU time it spent."""

    started: float
    ended: float
    cpu: float


def settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        secret_key=SECRET_KEY,
        queue=QueueMode.EMBEDDED,
        public_url="https://b.test",
        data_dir=Path(tempfile.mkdtemp()),
    )


async def seed(url: str) -> Seeded:
    tenant, template = await seed_base(url)
    runtime = Runtime(settings(url))
    await runtime.start(worker=False, migrate=False)
    try:
        async with runtime.transaction() as session:
            ctx = runtime.pass_context(session, tenant)
            program = await programs.create_program(
                ctx,
                name="Bench points",
                template_id=template,
                config=ProgramConfig.model_validate(CONFIG),
            )
            key = await tenants.create_api_key(session, tenant, name="bench", now=ctx.now)
    finally:
        await runtime.stop()
    return Seeded(url, tenant, template, program.id, key.secret)


async def counted(url: str, tenant: uuid.UUID) -> tuple[int, int]:
    """The tenant's passes, and its cards that have their pass."""
    conn = await asyncpg.connect(pg_url(url))
    try:
        passes = await conn.fetchval("SELECT count(*) FROM passes WHERE tenant_id = $1", tenant)
        cards = await conn.fetchval(
            "SELECT count(*) FROM accounts WHERE tenant_id = $1 AND pass_id IS NOT NULL", tenant
        )
    finally:
        await conn.close()
    return int(passes), int(cards)


async def run(clients: int, count: int, job: Job) -> None:
    """``count`` jobs by ``clients`` concurrent clients."""
    items = iter(range(count))

    async def client() -> None:
        for i in items:
            await job(i)

    await asyncio.gather(*(client() for _ in range(clients)))


class Paths:
    """The four phases' work in one process."""

    def __init__(self, runtime: Runtime, seeded: Seeded, index: int, with_customers: bool):
        self.runtime, self.seeded = runtime, seeded
        self.with_customers = with_customers
        self.prefix = f"{uuid.uuid4().hex[:8]}-{index}"
        app = create_app(runtime=runtime, worker=False, migrate=False, fast_path=False)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        )
        self.headers = {"Authorization": f"Bearer {seeded.api_key}"}

    def job(self, phase: str, tag: str) -> Job:
        return {
            PHASES[0]: self.bare_service,
            PHASES[1]: self.card_service(f"s-{tag}"),
            PHASES[2]: self.bare_http,
            PHASES[3]: self.card_http(f"h-{tag}"),
        }[phase]

    def customer(self, tag: str, i: int) -> CustomerIn | None:
        if not self.with_customers:
            return None
        name = f"{self.prefix}-{tag}-{i}"
        return CustomerIn(external_id=name, email=f"{name}@b.test")

    async def bare_service(self, i: int) -> None:
        async with self.runtime.transaction() as session:
            await pass_service.issue_pass(
                self.runtime.pass_context(session, self.seeded.tenant),
                template_id=self.seeded.template,
                data={"points": 0},
                external_id=None,
            )

    def card_service(self, tag: str) -> Job:
        async def job(i: int) -> None:
            async with self.runtime.transaction() as session:
                await customers.create_account(
                    self.runtime.pass_context(session, self.seeded.tenant),
                    self.seeded.program,
                    customer=self.customer(tag, i),
                    external_id=None,
                    referral_code=None,
                    actor=common.SYSTEM,
                )

        return job

    async def post(self, path: str, body: dict[str, Any]) -> None:
        headers = {**self.headers, "Idempotency-Key": str(uuid7())}
        response = await self.http.post(path, headers=headers, json=body)
        assert response.status_code == 201, response.text

    async def bare_http(self, i: int) -> None:
        body = {"template_id": str(self.seeded.template), "data": {"points": 0}}
        await self.post("/api/v1/passes", body)

    def card_http(self, tag: str) -> Job:
        async def job(i: int) -> None:
            holder = self.customer(tag, i)
            body = {} if holder is None else {"customer": holder.model_dump(exclude_none=True)}
            await self.post(f"/api/v1/programs/{self.seeded.program}/accounts", body)

        return job


async def _serve(
    seeded: Seeded, index: int, clients: int, with_customers: bool, pipe: Connection, start: Barrier
) -> None:
    runtime = Runtime(settings(seeded.url))
    await runtime.start(worker=False, migrate=False)
    paths = Paths(runtime, seeded, index, with_customers)
    try:
        while True:
            command = await asyncio.to_thread(pipe.recv)
            if command is None:
                return
            phase, count, tag = command
            job = paths.job(phase, tag)
            await asyncio.to_thread(start.wait, TIMEOUT)
            cpu, started = time.process_time(), time.perf_counter()
            await run(clients, count, job)
            pipe.send(Result(started, time.perf_counter(), time.process_time() - cpu))
    finally:
        await paths.http.aclose()
        await runtime.stop()


def _process(
    seeded: Seeded, index: int, clients: int, with_customers: bool, pipe: Connection, start: Barrier
) -> None:
    asyncio.run(_serve(seeded, index, clients, with_customers, pipe, start))


class Processes:
    """``count`` passmint processes sharing ``clients`` concurrent clients, each phase
    started on a barrier in all of them at once."""

    def __init__(self, seeded: Seeded, count: int, clients: int, with_customers: bool) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.start: Barrier = ctx.Barrier(count + 1)
        self.pipes: list[Connection] = []
        self.processes = []
        for index in range(count):
            ours, theirs = ctx.Pipe()
            share = clients // count + (1 if index < clients % count else 0)
            process = ctx.Process(
                target=_process,
                args=(seeded, index, max(1, share), with_customers, theirs, self.start),
                daemon=True,
            )
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)

    def phase(self, phase: str, each: int, tag: str) -> tuple[float, float]:
        """Items per second over all processes (barrier to last done) and CPU ms per item."""
        for pipe in self.pipes:
            pipe.send((phase, each, tag))
        self.start.wait(TIMEOUT)
        results: list[Result] = [pipe.recv() for pipe in self.pipes]
        elapsed = max(r.ended for r in results) - min(r.started for r in results)
        items = each * len(self.pipes)
        return items / elapsed, 1000 * sum(r.cpu for r in results) / items

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for process in self.processes:
            process.join(timeout=60)


def bench(
    seeded: Seeded, args: argparse.Namespace
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    rates: dict[str, list[float]] = {name: [] for name in PHASES}
    cpus: dict[str, list[float]] = {name: [] for name in PHASES}
    each = max(1, args.cards // args.processes)
    workers = Processes(seeded, args.processes, args.clients, args.customers)
    try:
        for phase in PHASES:  # every path once per client, so no phase pays first-use costs
            workers.phase(phase, max(4 * args.clients // args.processes, 4), "warm")
        expected = asyncio.run(counted(seeded.url, seeded.tenant))
        for r in range(args.rounds):
            for phase in PHASES:
                rate, cpu = workers.phase(phase, each, f"r{r}")
                rates[phase].append(rate)
                cpus[phase].append(cpu)
                print(f"  round {r + 1}: {phase:<22} {rate:>7,.0f} /s  {cpu:5.2f} ms CPU each")
                sys.stdout.flush()
            items = each * args.processes
            expected = (expected[0] + 4 * items, expected[1] + 2 * items)
            found = asyncio.run(counted(seeded.url, seeded.tenant))
            assert found == expected, (found, expected)  # every card has its pass
    finally:
        workers.close()
    return rates, cpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cards opened with their passes per second")
    parser.add_argument("--cards", type=int, default=1000, help="per phase and round")
    parser.add_argument("--clients", type=int, default=16, help="over all processes")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--customers", action="store_true", help="every card for a new customer (external id)"
    )
    pgbench.add_arguments(parser)
    args = parser.parse_args(argv)
    tps = None
    if args.pgbench_seconds > 0:  # first, while nothing of this benchmark runs
        tps = asyncio.run(pgbench.measure(args.postgres, args.pgbench_seconds))
        print(f"pgbench -N, {pgbench.CLIENTS} clients, {args.pgbench_seconds} s: {tps:,.0f} tps")
    url = asyncio.run(recreate(args.postgres, "passmint_bench_cards"))
    seeded = asyncio.run(seed(url))
    kind = "each for a new customer" if args.customers else "anonymous"
    print(
        f"{args.cards:,} per phase and round, {args.rounds} rounds, {args.processes} "
        f"processes, {args.clients} concurrent clients in all; cards {kind}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}"
    )
    sys.stdout.flush()
    rates, cpus = bench(seeded, args)
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for name in PHASES:
        shown = ", ".join(f"{v:,.0f}" for v in rates[name])
        cpu = statistics.median(cpus[name])
        print(f"{name:<22} {median[name]:>7,.0f} /s (rounds {shown}; {cpu:.2f} ms CPU each)")
    for via in ("service", "HTTP"):
        card, bare = median[f"cards, {via}"], median[f"bare passes, {via}"]
        verdict = "PASS" if card / bare >= RATIO_TARGET else "MISS"
        print(
            f"{verdict}: a card through the {via} costs {bare / card:.2f}× a bare pass "
            f"(cards at {card / bare:.2f} of bare passes' rate; target ≤ {1 / RATIO_TARGET:.0f}×)"
        )
    best = max(median[name] for name in CARD_PHASES)
    verdict = "PASS" if best >= RATE_TARGET else "MISS"
    print(
        f"{verdict}: cards opened with their passes on {args.processes} processes: "
        f"{median[PHASES[1]]:,.0f}/s through the service, {median[PHASES[3]]:,.0f}/s through "
        f"HTTP (target ≥ {RATE_TARGET:,.0f}/s on two cores)"
    )
    if tps is not None:
        for name in PHASES:
            print(pgbench.share(f"{name}, {args.clients} clients", median[name], tps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
