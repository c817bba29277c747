"""Prometheus metrics: every series passmint exports, defined once, low enough in the layers
for the web layer, the worker and the services to record into.

With ``PROMETHEUS_MULTIPROC_DIR`` set in the environment *before this module is first
imported*, prometheus-client keeps the values in files there, so ``/metrics`` of any web
process shows the sums over every process of the host that shares the directory
(``passmint serve --workers N`` sets it up for its web processes). Without it, a process
exports its own values.
"""

from __future__ import annotations

import os
from typing import Any, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
ROUTE_KEY: Final = "passmint.route"
"""ASGI scope key where a layer that answers below the router (the device fast path) names
the route template it answered, as the router's ``scope["route"]`` does for its routes."""
UNMATCHED: Final = "unmatched"

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "passmint_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "passmint_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
JOBS = Counter(
    "passmint_jobs_total",
    "Job runs by job name and outcome: done, retry (asked to run later), failed (will be "
    "retried with backoff), dead (failed for good).",
    ["job", "outcome"],
)
JOB_DURATION = Histogram(
    "passmint_job_duration_seconds",
    "How long a job took, from its start to its commit, when it was done.",
    ["job"],
    buckets=_LATENCY_BUCKETS,
)
JOB_LAG = Histogram(
    "passmint_job_queue_lag_seconds",
    "Time from a job being due to a worker starting it.",
    ["job"],
    buckets=_LAG_BUCKETS,
)
APNS_PUSHES = Counter(
    "passmint_apns_pushes_total",
    "Pushes to APNs by result: delivered, unregistered (the registration is removed), "
    "retry (sent again later), credential_error, rejected.",
    ["result"],
)
GOOGLE_CALLS = Counter(
    "passmint_google_calls_total",
    "Google Wallet REST calls by HTTP method and result: ok, not_found, conflict, quota, "
    "transient, rejected.",
    ["method", "result"],
)
DB_POOL_IN_USE = Gauge(
    "passmint_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
DB_POOL_OPEN = Gauge(
    "passmint_db_pool_connections_open",
    "Database connections the pool holds open (in use or idle).",
    multiprocess_mode="livesum",
)

_requests: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_registry: CollectorRegistry | None = None


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request (a few microseconds: the labelled series are kept)."""
    if method not in _METHODS:
        method = "other"
    key = (method, route, status)
    series = _requests.get(key)
    if series is None:
        series = (
            HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_DURATION.labels(method, route),
        )
        _requests[key] = series
    series[0].inc()
    series[1].observe(seconds)


def job_started(name: str, lag_seconds: float) -> None:
    JOB_LAG.labels(name).observe(max(0.0, lag_seconds))


def job_finished(name: str, outcome: str, seconds: float) -> None:
    JOBS.labels(name, outcome).inc()
    JOB_DURATION.labels(name).observe(seconds)


def watch_pool(engine: AsyncEngine) -> None:
    """Keep the pool gauges current from the engine's pool events."""
    pool = engine.sync_engine.pool
    event.listen(pool, "checkout", lambda *_: DB_POOL_IN_USE.inc())
    event.listen(pool, "checkin", lambda *_: DB_POOL_IN_USE.dec())
    event.listen(pool, "connect", lambda *_: DB_POOL_OPEN.inc())
    event.listen(pool, "close", lambda *_: DB_POOL_OPEN.dec())
    event.listen(pool, "detach", lambda *_: DB_POOL_OPEN.dec())


def render() -> tuple[bytes, str]:
    """The exposition of every series: of all processes sharing the multiprocess
    directory, or of this process."""
    global _registry
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    if _registry is None:
        _registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(_registry)  # type: ignore[no-untyped-call]
    return generate_latest(_registry), CONTENT_TYPE_LATEST


def process_gone(pid: int) -> None:
    """A process that shared the multiprocess directory exited: drop its live gauges."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
