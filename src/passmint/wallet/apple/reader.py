"""Verifying a ``.pkpass`` from any source against the spec's checks 1–17.

``verify_pkpass`` never raises on bad input: every problem it finds comes back as a
``Problem`` with a path (a file in the bundle, or a JSON path into pass.json) and a code.
It is pure: the trust anchors and the current time are arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from passmint.kit import der
from passmint.wallet.apple import signing
from passmint.wallet.apple.bundle import (
    MAX_PASSES_BYTES,
    MAX_PASSES_PER_BUNDLE,
    RESERVED_NAMES,
    check_files,
)
from passmint.wallet.apple.certificates import (
    PASS_SIGNING_EKU_OID,
    WWDR_G4_SERIAL,
    apple_root_ca,
    common_name_pass_type_id,
    expiry_notices,
    has_pass_signing_usage,
    pass_type_id_of,
    team_id_of,
)
from passmint.wallet.apple.problems import Problem, Severity, errors_only

MAX_ENTRY_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 100 * 1024 * 1024
MAX_ENTRIES = 1000
_HASHES: dict[str, hashes.HashAlgorithm] = {
    signing.DIGEST_OIDS[signing.Digest.SHA256]: hashes.SHA256(),
    signing.DIGEST_OIDS[signing.Digest.SHA1]: hashes.SHA1(),  # noqa: S303
}


@dataclass
class VerifyReport:
    """What the verifier found; ``ok`` when there is no error-severity problem."""

    problems: list[Problem] = field(default_factory=list)
    pass_json: dict[str, Any] | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    signer: x509.Certificate | None = None
    signing_time: datetime | None = None

    @property
    def ok(self) -> bool:
        return not errors_only(self.problems)

    @property
    def errors(self) -> list[Problem]:
        return errors_only(self.problems)

    def add(self, path: str, code: str, message: str, severity: Severity = Severity.ERROR) -> None:
        self.problems.append(Problem(path, code, message, severity))


def verify_pkpass(
    data: bytes,
    *,
    now: datetime,
    roots: Sequence[x509.Certificate] | None = None,
) -> VerifyReport:
    """Check a .pkpass. ``roots`` replaces Apple Root CA as trust anchor (a test PKI)."""
    report = VerifyReport()
    files = _read_zip(data, report)
    if files is None:
        return report
    report.files = files
    for required in ("pass.json", "manifest.json", "signature"):
        if required not in files:
            report.add(required, "missing_file", f"the bundle has no {required}")
    pass_json = _load_pass_json(files, report)
    report.pass_json = pass_json
    _check_manifest(files, report)
    if "signature" in files and "manifest.json" in files:
        _check_signature(files["signature"], files["manifest.json"], report, now, roots)
    if pass_json is not None:
        _check_identity(pass_json, report)
        content = {n: d for n, d in files.items() if n not in RESERVED_NAMES}
        report.problems.extend(check_files(pass_json, content))
    return report


def _read_zip(data: bytes, report: VerifyReport) -> dict[str, bytes] | None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        report.add("(archive)", "not_a_zip", f"not a valid zip archive: {exc}")
        return None
    files: dict[str, bytes] = {}
    total = 0
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            report.add("(archive)", "too_many_entries", f"{len(infos)} entries (max {MAX_ENTRIES})")
            return None
        for info in infos:
            name = info.filename
            if info.is_dir():
                continue
            parts = name.split("/")
            if parts[0] == "__MACOSX" or parts[-1] == ".DS_Store":
                report.add(name, "junk_file", "macOS metadata must not be in a pass bundle")
                continue
            if name.startswith("/") or ".." in parts or "\\" in name:
                report.add(name, "unsafe_path", "absolute or parent-relative path in the archive")
                continue
            if name in files:
                report.add(name, "duplicate_entry", "the archive holds this name twice")
                continue
            if info.file_size > MAX_ENTRY_BYTES or total + info.file_size > MAX_TOTAL_BYTES:
                report.add(name, "entry_too_large", "the archive is larger than a pass can be")
                return None
            try:
                content = archive.read(info)
            except (
                zipfile.BadZipFile,
                NotImplementedError,
                RuntimeError,
                ValueError,
                OSError,
                EOFError,
            ) as exc:
                report.add(name, "unreadable_entry", f"cannot be extracted: {exc}")
                continue
            total += len(content)
            files[name] = content
    return files


def _load_pass_json(files: dict[str, bytes], report: VerifyReport) -> dict[str, Any] | None:
    raw = files.get("pass.json")
    if raw is None:
        return None
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.add("pass.json", "invalid_json", f"pass.json is not valid UTF-8 JSON: {exc}")
        return None
    if not isinstance(value, dict):
        report.add("pass.json", "invalid_json", "pass.json must hold a JSON object")
        return None
    return value


def _check_manifest(files: dict[str, bytes], report: VerifyReport) -> None:
    raw = files.get("manifest.json")
    if raw is None:
        return
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.add("manifest.json", "invalid_manifest", f"manifest.json is not valid JSON: {exc}")
        return
    if not isinstance(manifest, dict):
        report.add("manifest.json", "invalid_manifest", "manifest.json must hold a JSON object")
        return
    for name in files:
        if name in ("manifest.json", "signature"):
            continue
        expected = manifest.get(name)
        if expected is None:
            report.add(name, "manifest_missing_entry", "no entry in manifest for this file")
            continue
        actual = hashlib.sha1(files[name]).hexdigest()  # noqa: S324 - Apple's format
        if not isinstance(expected, str) or not hmac.compare_digest(expected, actual):
            report.add(
                name,
                "manifest_hash_mismatch",
                f"manifest says SHA-1 {expected!r}, the file's is {actual}",
            )
    for name in manifest:
        if name not in files:
            report.add(
                f"manifest.json/{name}", "manifest_extra_entry", "listed but not in the bundle"
            )


@dataclass
class _SignerInfo:
    issuer: bytes
    serial: int
    digest_oid: str
    signed_attrs: bytes  # re-tagged as SET OF (0x31): the bytes the signature covers
    attributes: dict[str, list[der.Node]]
    signature_oid: str
    signature: bytes


def _parse_cms(data: bytes) -> tuple[list[x509.Certificate], list[_SignerInfo], bool]:
    content_info = der.parse(data).expect(der.SEQUENCE).children()
    if content_info[0].as_oid() != signing.OID_SIGNED_DATA:
        raise der.DerError("not a CMS SignedData")
    signed_data = content_info[1].expect(0xA0).children()[0].expect(der.SEQUENCE).children()
    encap = signed_data[2].expect(der.SEQUENCE).children()
    detached = len(encap) == 1
    certs: list[x509.Certificate] = []
    signer_infos: list[_SignerInfo] = []
    for node in signed_data[3:]:
        if node.tag == 0xA0:
            certs = [x509.load_der_x509_certificate(c.raw) for c in node.children()]
        elif node.tag == der.SET:
            for info in node.children():
                signer_infos.append(_parse_signer_info(info))
    return certs, signer_infos, detached


def _parse_signer_info(node: der.Node) -> _SignerInfo:
    parts = node.expect(der.SEQUENCE).children()
    if parts[0].as_int() != 1:
        raise der.DerError("only issuerAndSerialNumber signer identifiers are supported")
    sid = parts[1].expect(der.SEQUENCE).children()
    digest_oid = parts[2].children()[0].as_oid()
    position = 3
    signed_attrs = b""
    attributes: dict[str, list[der.Node]] = {}
    if parts[position].tag == 0xA0:
        attrs_node = parts[position]
        signed_attrs = der.tlv(der.SET, attrs_node.content)
        for attr in attrs_node.children():
            attr_type, values = attr.children()
            attributes[attr_type.as_oid()] = values.children()
        position += 1
    signature_oid = parts[position].children()[0].as_oid()
    signature = parts[position + 1].expect(der.OCTET_STRING).content
    return _SignerInfo(
        sid[0].raw, sid[1].as_int(), digest_oid, signed_attrs, attributes, signature_oid, signature
    )


def _check_signature(
    signature: bytes,
    manifest: bytes,
    report: VerifyReport,
    now: datetime,
    roots: Sequence[x509.Certificate] | None,
) -> None:
    path = "signature"
    try:
        certs, infos, detached = _parse_cms(signature)
    except (der.DerError, ValueError, IndexError) as exc:
        report.add(path, "invalid_signature_format", f"not a DER CMS SignedData: {exc}")
        return
    if not detached:
        report.add(path, "signature_not_detached", "the signature must be detached")
    if len(infos) != 1:
        report.add(path, "signer_count", f"expected one signer, found {len(infos)}")
        if not infos:
            return
    info = infos[0]
    signer = next(
        (
            c
            for c in certs
            if c.issuer.public_bytes() == info.issuer and c.serial_number == info.serial
        ),
        None,
    )
    if signer is None:
        report.add(path, "signer_certificate_missing", "the signer's certificate is not included")
        return
    report.signer = signer
    hash_alg = _HASHES.get(info.digest_oid)
    if hash_alg is None:
        report.add(path, "unsupported_digest", f"digest algorithm {info.digest_oid} is unsupported")
        return
    if not info.signed_attrs:
        report.add(path, "missing_signed_attributes", "signed attributes are required")
        return
    content_type = info.attributes.get(signing.OID_CONTENT_TYPE)
    if not content_type or content_type[0].as_oid() != signing.OID_DATA:
        report.add(path, "bad_content_type_attribute", "contentType attribute must be id-data")
    digest_values = info.attributes.get(signing.OID_MESSAGE_DIGEST)
    hasher = hashes.Hash(hash_alg)
    hasher.update(manifest)
    if not digest_values or not hmac.compare_digest(digest_values[0].content, hasher.finalize()):
        report.add(
            path, "manifest_digest_mismatch", "the signature does not cover this manifest.json"
        )
    times = info.attributes.get(signing.OID_SIGNING_TIME)
    if not times:
        report.add(path, "missing_signing_time", "Wallet requires a signingTime attribute")
        moment = now
    else:
        moment = times[0].as_time()
        report.signing_time = moment
    try:
        public_key = signer.public_key()
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(info.signature, info.signed_attrs, padding.PKCS1v15(), hash_alg)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(info.signature, info.signed_attrs, ec.ECDSA(hash_alg))
        else:
            report.add(path, "unsupported_key", "the signer key is neither RSA nor EC")
            return
    except InvalidSignature:
        report.add(path, "signature_invalid", "the signature does not verify with the signer key")
    _check_chain(signer, certs, report, moment, now, roots)


def _check_chain(
    signer: x509.Certificate,
    certs: list[x509.Certificate],
    report: VerifyReport,
    moment: datetime,
    now: datetime,
    roots: Sequence[x509.Certificate] | None,
) -> None:
    path = "signature"
    anchors = list(roots) if roots else [apple_root_ca()]
    intermediate = next((c for c in certs if c.subject == signer.issuer and c != signer), None)
    if intermediate is None:
        report.add(
            path,
            "wwdr_missing",
            "the certificate set lacks the WWDR intermediate that issued the signer",
        )
        return
    if roots is None and intermediate.serial_number != WWDR_G4_SERIAL:
        report.add(
            path,
            "wwdr_not_g4",
            f"the intermediate is serial {intermediate.serial_number:X}, "
            "not Apple's WWDR G4 (13DC77955271E53DC632E8CCFFE521F3CCC5CED2)",
        )
    for cert, issuer in ((signer, intermediate),):
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            report.add(path, "chain_invalid", "the signer is not issued by the WWDR intermediate")
            return
    anchor = next((a for a in anchors if a.subject == intermediate.issuer), None)
    if anchor is None:
        report.add(path, "untrusted_root", "the WWDR intermediate does not chain to a trusted root")
        return
    try:
        intermediate.verify_directly_issued_by(anchor)
    except (ValueError, TypeError, InvalidSignature):
        report.add(path, "untrusted_root", "the WWDR intermediate's signature does not verify")
        return
    try:
        constraints = intermediate.extensions.get_extension_for_class(x509.BasicConstraints)
        is_ca = constraints.value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        report.add(path, "intermediate_not_ca", "the intermediate is not a CA certificate")
    for cert in (signer, intermediate, anchor):
        if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
            report.add(
                path,
                "certificate_not_valid_at_signing_time",
                f"{cert.subject.rfc4514_string()} was not valid at the signing time {moment}",
            )
    for notice in expiry_notices((signer, intermediate), now):
        report.add(
            path,
            "certificate_expired" if notice.expired else "certificate_expiring",
            str(notice),
            Severity.WARNING,
        )


def _check_identity(pass_json: dict[str, Any], report: VerifyReport) -> None:
    signer = report.signer
    if signer is None:
        return
    cert_pass_type = pass_type_id_of(signer) or common_name_pass_type_id(signer)
    if cert_pass_type is None:
        report.add(
            "signature",
            "certificate_not_pass_type_id",
            "the signer certificate carries no Pass Type ID",
        )
    elif pass_json.get("passTypeIdentifier") != cert_pass_type:
        report.add(
            "$.passTypeIdentifier",
            "pass_type_id_mismatch",
            f"pass.json says {pass_json.get('passTypeIdentifier')!r}, the certificate "
            f"{cert_pass_type!r}",
        )
    if not has_pass_signing_usage(signer):
        # Apple's Passbook trust policy requires this EKU on the signer: Wallet refuses the pass.
        report.add(
            "signature",
            "certificate_pass_eku_missing",
            "the signer certificate's extended key usage lacks "
            f"{PASS_SIGNING_EKU_OID.dotted_string} (Pass Type ID), which Wallet requires",
        )
    team = team_id_of(signer)
    if pass_json.get("teamIdentifier") != team:
        report.add(
            "$.teamIdentifier",
            "team_id_mismatch",
            f"pass.json says {pass_json.get('teamIdentifier')!r}, the certificate's OU {team!r}",
        )


def verify_pkpasses(
    data: bytes, *, now: datetime, roots: Sequence[x509.Certificate] | None = None
) -> dict[str, VerifyReport]:
    """Check a .pkpasses bundle and each pass in it."""
    outer = VerifyReport()
    if len(data) > MAX_PASSES_BYTES:
        outer.add("(archive)", "bundle_too_large", "a .pkpasses bundle holds at most 150 MB")
        return {"(bundle)": outer}
    files = _read_zip(data, outer)
    reports: dict[str, VerifyReport] = {"(bundle)": outer}
    if files is None:
        return reports
    passes = {n: d for n, d in files.items() if n.endswith(".pkpass")}
    for name in files.keys() - passes.keys():
        outer.add(name, "unexpected_file", "a .pkpasses bundle holds only .pkpass files")
    if not passes:
        outer.add("(archive)", "no_passes", "the bundle holds no .pkpass")
    if len(passes) > MAX_PASSES_PER_BUNDLE:
        outer.add(
            "(archive)",
            "too_many_passes",
            f"{len(passes)} passes; a .pkpasses bundle holds at most {MAX_PASSES_PER_BUNDLE}",
        )
    for name, content in sorted(passes.items()):
        reports[name] = verify_pkpass(content, now=now, roots=roots)
    return reports
