"""A design stored before a rule tightened (here: a tab in a one-line label, which the text
type now refuses) answers a 409 that says to save it again, never a 500."""

from __future__ import annotations

import copy
import uuid

import httpx
import pytest
from sqlalchemy import update

from passmint.models import TemplateVersion
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.service.conftest import auth, cafe_design, put_apple_credentials

pytestmark = pytest.mark.anyio


async def test_a_design_stored_under_older_rules_is_a_409_to_save_again(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    key = tenant["api_key"]
    await put_apple_credentials(client, key, dev_pki)
    design = await cafe_design(client, key)
    created = await client.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "T", "style": "storeCard", "design": design},
    )
    assert created.status_code == 201, created.text
    template_id = created.json()["id"]
    issued = await client.post(
        "/api/v1/passes",
        headers=auth(key),
        json={"template_id": template_id, "data": {"points": 1, "tier": "A", "name": "Ada"}},
    )
    assert issued.status_code == 201, issued.text
    older = copy.deepcopy(design)
    older["fields"]["primary"][0]["label"] = "POINTS\tNOW"  # accepted before the text type
    async with runtime.transaction() as session:
        await session.execute(
            update(TemplateVersion)
            .where(TemplateVersion.template_id == uuid.UUID(template_id))
            .values(design=older)
        )
    patched = await client.patch(
        f"/api/v1/passes/{issued.json()['id']}", headers=auth(key), json={"data": {"points": 2}}
    )
    assert patched.status_code == 409, patched.text
    error = patched.json()["error"]
    assert error["code"] == "template_design_outdated"
    assert "save its design again" in error["message"]
    assert any("fields.primary" in problem for problem in error["details"]["problems"])
    # saving the design again mends it
    mended = await client.patch(
        f"/api/v1/templates/{template_id}", headers=auth(key), json={"design": design}
    )
    assert mended.status_code == 200, mended.text
    patched = await client.patch(
        f"/api/v1/passes/{issued.json()['id']}", headers=auth(key), json={"data": {"points": 2}}
    )
    assert patched.status_code == 200, patched.text
