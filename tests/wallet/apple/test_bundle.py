from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime

import pytest

from passmint.wallet.apple.bundle import (
    BundleError,
    PassTemplate,
    UnknownSlot,
    build_pkpass,
    build_pkpasses,
    manifest_json,
)
from passmint.wallet.apple.certificates import PassIdentityMismatch, SigningIdentity
from passmint.wallet.apple.problems import InvalidPass
from passmint.wallet.apple.reader import verify_pkpasses
from passmint.wallet.apple.signing import ManifestSigner
from tests.conftest import PassCheck
from tests.wallet.apple.builders import icon_files, store_card


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_built_pass_has_manifest_of_every_file_and_verifies(
    signer: ManifestSigner, check_pass: PassCheck, now: datetime
) -> None:
    files = icon_files() | {"fr.lproj/pass.strings": b'"POINTS" = "POINTS";\n'}
    files["en.lproj/pass.strings"] = b'"POINTS" = "Points";\n'
    data = build_pkpass(store_card(), files, signer, signing_time=now)
    check_pass(data)
    content = entries(data)
    manifest = json.loads(content["manifest.json"])
    assert set(manifest) == set(content) - {"manifest.json", "signature"}
    assert manifest == json.loads(manifest_json({n: content[n] for n in manifest}))


def test_template_builds_distinct_passes(
    signer: ManifestSigner, check_pass: PassCheck, now: datetime
) -> None:
    template = PassTemplate(store_card(), icon_files())
    a = template.build(
        signer, signing_time=now, serial_number="A-1", fields={"points": 11}, barcode_message="A-1"
    )
    b = template.build(
        signer, signing_time=now, serial_number="B-2", fields={"points": 250, "name": "Grace"}
    )
    for data in (a, b):
        check_pass(data)
    pass_a = json.loads(entries(a)["pass.json"])
    pass_b = json.loads(entries(b)["pass.json"])
    assert (pass_a["serialNumber"], pass_b["serialNumber"]) == ("A-1", "B-2")
    assert pass_a["storeCard"]["primaryFields"][0]["value"] == 11
    assert pass_b["storeCard"]["primaryFields"][0]["value"] == 250
    assert pass_b["storeCard"]["secondaryFields"][0]["value"] == "Grace"
    assert pass_a["barcodes"][0]["message"] == "A-1"
    assert pass_b["barcodes"][0]["message"] == "SN-1"  # template default kept


def test_rendered_json_equals_the_template_when_nothing_changes() -> None:
    doc = store_card(userInfo={"emoji": "☕", "quote": 'say "hi"\n'})
    template = PassTemplate(doc, icon_files())
    assert json.loads(template.render_pass_json()) == doc


def test_slot_values_are_checked(signer: ManifestSigner, now: datetime) -> None:
    doc = store_card()
    doc["storeCard"]["secondaryFields"].append(
        {
            "key": "since",
            "label": "SINCE",
            "value": "2024-01-01T00:00Z",
            "dateStyle": "PKDateStyleShort",
            "timeStyle": "PKDateStyleNone",
        }
    )
    doc["storeCard"]["headerFields"][0] = {
        "key": "balance",
        "label": "BAL",
        "value": 5,
        "currencyCode": "EUR",
        "numberStyle": "PKNumberStyleDecimal",
    }
    template = PassTemplate(doc, icon_files())
    with pytest.raises(InvalidPass) as info:
        template.render_pass_json(
            serial_number="", fields={"since": "yesterday", "balance": "five", "points": True}
        )
    codes = {p.code for p in info.value.problems}
    assert codes == {
        "invalid_value",
        "invalid_date",
        "number_style_on_non_numeric_value",
        "invalid_field_value",
    }
    with pytest.raises(UnknownSlot):
        template.render_pass_json(fields={"nope": 1})


def test_invalid_pass_is_refused_with_every_problem() -> None:
    doc = store_card(backgroundColor="#fff", formatVersion=2)
    with pytest.raises(InvalidPass) as info:
        PassTemplate(doc, {})
    paths = {p.path for p in info.value.problems}
    assert "$.backgroundColor" in paths
    assert "$.formatVersion" in paths
    assert any(p.code == "image_missing_icon" for p in info.value.problems)


def test_reserved_file_names_are_refused() -> None:
    with pytest.raises(BundleError, match=r"manifest\.json"):
        PassTemplate(store_card(), icon_files() | {"manifest.json": b"{}"})


def test_identity_mismatch_is_refused(signer: ManifestSigner, now: datetime) -> None:
    template = PassTemplate(store_card(teamIdentifier="SOMEONEELS"), icon_files())
    with pytest.raises(PassIdentityMismatch):
        template.build(signer, signing_time=now)


def test_pkpasses_holds_up_to_ten(
    signer: ManifestSigner, identity: SigningIdentity, now: datetime, dev_pki: object
) -> None:
    template = PassTemplate(store_card(), icon_files())
    passes = [template.build(signer, signing_time=now, serial_number=f"S{i}") for i in range(10)]
    bundle = build_pkpasses(passes)
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        assert len(archive.namelist()) == 10
    reports = verify_pkpasses(bundle, now=now, roots=[dev_pki.root])  # type: ignore[attr-defined]
    assert all(r.ok for r in reports.values())
    with pytest.raises(BundleError, match="at most 10"):
        build_pkpasses([*passes, passes[0]])
    with pytest.raises(BundleError):
        build_pkpasses([])
