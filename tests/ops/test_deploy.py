"""The deployment files: compose.yaml validates with ``docker compose config`` and describes
the production topology; the Dockerfile keeps its essentials. No image is built here (this
machine has a Docker client but no engine): the Dockerfile is read, not run."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.conftest import services_required

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "POSTGRES_PASSWORD": "compose-test-password",
    "PASSMINT_PUBLIC_URL": "https://passes.example.test",
    "PASSMINT_SECRET_KEY": "c" * 43,
}


def compose_command(config: pytest.Config) -> list[str]:
    """``docker compose`` (the plugin) or a standalone ``docker-compose``; a skip without
    either (a failure when services are required: .ci/run installs Debian's)."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone:
        return [standalone]
    if services_required(config):
        pytest.fail("neither `docker compose` nor `docker-compose` is installed")
    pytest.skip("neither `docker compose` nor `docker-compose` is installed")


def deployment(folder: Path, compose: str, env: dict[str, str]) -> tuple[Path, Path]:
    """compose.yaml (as given) with the files it names, and a passmint.env, in ``folder``."""
    (folder / "deploy").mkdir(parents=True)
    shutil.copy(ROOT / "deploy" / "Caddyfile", folder / "deploy" / "Caddyfile")
    (folder / "compose.yaml").write_text(compose)
    (folder / "passmint.env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return folder / "compose.yaml", folder / "passmint.env"


def config(command: list[str], compose: Path, env_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, "--env-file", str(env_file), "--file", str(compose), "config"],
        cwd=compose.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_docker_compose_config_validates_compose_yaml(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    command = compose_command(request.config)
    text = (ROOT / "compose.yaml").read_text()
    done = config(command, *deployment(tmp_path / "ok", text, ENV))
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    assert set(resolved["services"]) == {
        "migrate", "web-1", "web-2", "worker", "proxy", "postgres", "redis"
    }  # fmt: skip
    url = resolved["services"]["web-1"]["environment"]["PASSMINT_DATABASE_URL"]
    assert url == f"postgresql://passmint:{ENV['POSTGRES_PASSWORD']}@postgres:5432/passmint"
    # The check is real: a setting missing from the env file, or a malformed service, fails.
    missing = config(
        command,
        *deployment(tmp_path / "missing", text, {**ENV, "PASSMINT_SECRET_KEY": ""}),
    )
    assert missing.returncode != 0
    assert "PASSMINT_SECRET_KEY" in missing.stderr
    broken = text.replace("condition: service_completed_successfully", "condition: whenever")
    assert broken != text
    assert config(command, *deployment(tmp_path / "broken", broken, ENV)).returncode != 0


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_compose_yaml_describes_the_production_topology() -> None:
    services = _compose()["services"]
    web = [services["web-1"], services["web-2"]]
    for service in web:
        assert service["command"][:4] == ["serve", "--no-worker", "--host", "0.0.0.0"]  # noqa: S104
        assert "healthz" in " ".join(service["healthcheck"]["test"])
    assert services["worker"]["command"] == ["worker", "--processes", "2"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    for service in [*web, services["worker"]]:
        assert service["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }
        environment = service["environment"]
        for name in ("DATABASE_URL", "REDIS_URL", "PUBLIC_URL", "SECRET_KEY"):
            assert f"PASSMINT_{name}" in environment
        assert "@postgres:5432/" in environment["PASSMINT_DATABASE_URL"]
        # docker stop waits longer than passmint gives requests and jobs to finish
        grace = int(environment["PASSMINT_SHUTDOWN_GRACE"])
        assert int(service["stop_grace_period"].removesuffix("s")) > grace
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["postgres"]["healthcheck"]["test"]
    assert services["redis"]["healthcheck"]["test"]
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "postgres-data" in _compose()["volumes"]
    # The load balancer sends to exactly the web services.
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddyfile)
    assert upstreams is not None
    assert upstreams.group(1).split() == ["web-1:8000", "web-2:8000"]


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions, (KEYWORD, arguments), grouped by stage."""
    text = (ROOT / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", text)
    stages: list[list[tuple[str, str]]] = []
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword.upper(), " ".join(arguments.split())))
    return stages


def test_the_dockerfile_builds_a_slim_non_root_image_without_dev_dependencies() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "multi-stage: installs happen in a build stage"
    named = {stage[0][1].rsplit(" AS ", 1)[-1]: stage for stage in stages if " AS " in stage[0][1]}
    build, final = named["build"], stages[-1]
    assert re.fullmatch(r"python:\$\{PYTHON_VERSION\}-slim", final[0][1])
    # The admin app's front-end libraries: npm ci from the lock, copied into the package.
    assets = named["assets"]
    assert any(k == "RUN" and "npm ci" in a for k, a in assets)
    assert ("COPY", "package.json package-lock.json ./") in assets
    assert ("COPY", "--from=assets /src/vendor ./src/passmint/admin/static/vendor") in build
    assert "ARG PYTHON_VERSION=3.12" in (ROOT / "Dockerfile").read_text()
    # Dependencies from the lock, hash-checked, and no dependency group (dev) at all.
    installs = [args for keyword, args in build if keyword == "RUN" and " install" in args]
    assert any("--require-hashes" in args and "requirements.lock" in args for args in installs)
    for keyword, args in build + final:
        if keyword == "RUN" and re.search(r"\b(uv|pip)\b", args):
            assert not re.search(r"--group|--all-groups|--extra|--dev\b|pytest|mypy", args), args
    assert not [a for keyword, a in final if keyword == "RUN" and re.search(r"\b(uv|pip)\b", a)]
    assert ("COPY", "--from=build /opt/passmint /opt/passmint") in final
    # Runs unprivileged, checks its health, listens on 8000, runs `passmint`.
    users = [args for keyword, args in final if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    healthchecks = [args for keyword, args in final if keyword == "HEALTHCHECK"]
    assert healthchecks
    assert "/healthz" in healthchecks[-1]
    assert ("EXPOSE", "8000") in final
    assert ("ENTRYPOINT", '["passmint"]') in final


def test_the_build_context_is_an_allowlist() -> None:
    """Nothing but the sources goes into the image: not data/ (keys, SQLite), .env, .venv."""
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line.removeprefix("!").rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {
        "pyproject.toml",
        "requirements.lock",
        "package.json",
        "package-lock.json",
        "README.md",
        "src",
        "migrations",
    }
    copied = {
        source
        for stage in dockerfile_stages()
        for keyword, args in stage
        if keyword == "COPY" and not args.startswith("--from")
        for source in args.split()[:-1]
    }
    assert copied <= allowed
