# syntax=docker/dockerfile:1
# passmint's production image (compose.yaml builds and runs it; docs/deployment.md).
#
# The build stage installs into a virtual environment, /opt/passmint, the runtime
# dependencies alone at the versions requirements.lock pins, every file checked against
# the lock's hashes, then passmint's own wheel (its migrations inside). The lock also pins
# the development tools (pytest, mypy, ruff…): they are never installed here. The final
# stage copies that environment onto a slim Python and runs it as an unprivileged user.

ARG PYTHON_VERSION=3.12

# The admin app's front-end libraries, at the versions package-lock.json pins (npm ci checks
# its integrity hashes), copied where the wheel takes them from.
FROM node:20-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
    && mkdir -p vendor \
    && cp node_modules/htmx.org/dist/htmx.min.js node_modules/sortablejs/Sortable.min.js vendor/

FROM python:${PYTHON_VERSION}-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_NO_CACHE=1
WORKDIR /src
RUN uv venv --python /usr/local/bin/python /opt/passmint
COPY pyproject.toml requirements.lock README.md ./
# pyproject.toml's dependencies (no dependency group) resolved within the lock's pins, then
# installed in hash-checking mode: the hashes come from the lock, given as constraints.
RUN uv pip compile pyproject.toml --constraint requirements.lock \
        --python /opt/passmint/bin/python --no-header --no-annotate --quiet \
        --output-file /tmp/runtime.txt \
    && uv pip install --python /opt/passmint/bin/python --require-hashes \
        --requirements /tmp/runtime.txt --constraint requirements.lock
COPY src ./src
COPY --from=assets /src/vendor ./src/passmint/admin/static/vendor
COPY migrations ./migrations
RUN uv pip install --python /opt/passmint/bin/python --no-deps . \
    && /opt/passmint/bin/passmint --help > /dev/null

FROM python:${PYTHON_VERSION}-slim
RUN groupadd --system --gid 10001 passmint \
    && useradd --system --uid 10001 --gid passmint --no-create-home \
        --home-dir /var/lib/passmint --shell /usr/sbin/nologin passmint \
    && install --directory --owner passmint --group passmint --mode 0700 /var/lib/passmint
COPY --from=build /opt/passmint /opt/passmint
ENV PATH=/opt/passmint/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PASSMINT_DATA_DIR=/var/lib/passmint
WORKDIR /var/lib/passmint
USER 10001:10001
EXPOSE 8000
# Alive: the web process answers /healthz (a worker container disables this check).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# SIGTERM (docker stop): requests in flight and running jobs get PASSMINT_SHUTDOWN_GRACE
# seconds to finish; keep the stop timeout above it (compose.yaml: stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["passmint"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
