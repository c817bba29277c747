"""Session fixtures: a throwaway Apple-like PKI, a signer, and a checker that every pass
the suite builds goes through (passmint's verifier and ``openssl cms -verify``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from passmint.wallet.apple.certificates import SigningIdentity, load_identity_pem
from passmint.wallet.apple.devpki import DevPki, generate_dev_pki
from passmint.wallet.apple.reader import VerifyReport, verify_pkpass
from passmint.wallet.apple.signing import ManifestSigner
from tests.fixtures.pki import openssl_cms_verify, write_pki

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PassCheck = Callable[[bytes], VerifyReport]


def pytest_configure(config: pytest.Config) -> None:
    # CI sets this so a missing PostgreSQL or Redis fails the run instead of skipping.
    config.require_services = os.environ.get("PASSMINT_REQUIRE_SERVICES") == "1"  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="session")
def dev_pki(now: datetime) -> DevPki:
    return generate_dev_pki(now=now)


@pytest.fixture(scope="session")
def pki_paths(dev_pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_pki(dev_pki, tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def identity(dev_pki: DevPki, now: datetime) -> SigningIdentity:
    files = dev_pki.files()
    return load_identity_pem(
        files["pass-cert.pem"], files["pass-key.pem"], now=now, wwdr_pem=files["wwdr.pem"]
    )


@pytest.fixture(scope="session")
def signer(identity: SigningIdentity) -> ManifestSigner:
    return ManifestSigner(identity)


@pytest.fixture(scope="session")
def check_pass(dev_pki: DevPki, pki_paths: dict[str, Path], now: datetime) -> PassCheck:
    """Assert a built pass is valid for passmint's verifier and for OpenSSL."""

    def check(data: bytes) -> VerifyReport:
        report = verify_pkpass(data, now=now, roots=[dev_pki.root])
        assert report.ok, [str(p) for p in report.errors]
        ok, detail = openssl_cms_verify(data, pki_paths["ca.pem"])
        assert ok, detail
        return report

    return check
