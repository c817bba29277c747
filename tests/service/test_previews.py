"""``POST /api/v1/previews`` and the designer's services on both databases: scopes, bodies
refused with 4xx and their codes, problems answered as a 200, hostile text kept as data,
the tenant's images, the gallery's starters uploaded and saved, placeholders with samples."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from passmint.app import create_app
from passmint.config import Settings
from passmint.models import Asset, AuditEvent, Template, TemplateVersion
from passmint.passes import previews
from passmint.passes.errors import TemplateNotFound
from passmint.passes.service import get_template
from passmint.runtime import Runtime
from passmint.tenants import service as tenants
from passmint.tenants.scopes import Scope
from passmint.wallet.designs import preview as preview_module
from passmint.wallet.designs.schemas import parse_design
from tests.fixtures.apns_server import FakeApns
from tests.service.conftest import PUBLIC_URL, auth, cafe_design, make_settings, upload

pytestmark = pytest.mark.anyio


async def _key(runtime: Runtime, tenant_id: str, *scopes: Scope) -> str:
    async with runtime.transaction() as session:
        created = await tenants.create_api_key(
            session, uuid.UUID(tenant_id), name="scoped", now=runtime.clock(), scopes=scopes
        )
    return created.secret


async def _preview(client: httpx.AsyncClient, key: str, **body: Any) -> httpx.Response:
    return await client.post("/api/v1/previews", headers=auth(key), json=body)


async def test_a_design_is_previewed_with_its_images_and_scannable_barcode(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    design = await cafe_design(client, key)
    sample = {"points": 7, "tier": "Gold", "name": "Ada"}
    response = await _preview(
        client, key, style="storeCard", design=design, sample_data=sample, language="fr"
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["valid"] is True, body["problems"]
    assert body["problems"] == []
    assert body["pass_json"]["storeCard"]["primaryFields"][0]["value"] == 7
    assert body["pass_json"]["webServiceURL"] == f"{PUBLIC_URL}/apple/"
    assert body["localized_pass_json"]["storeCard"]["headerFields"][0]["label"] == "NIVEAU"
    assert body["google_vertical"] == "loyalty"
    assert body["google_class"]["programLogo"]["sourceUri"]["uri"] == (
        f"{PUBLIC_URL}/i/{design['images']['logo']}.png"
    )
    assert body["google_object"]["loyaltyPoints"]["balance"] == {"int": 7}
    assert body["barcode"]["svg"].startswith("<svg ")
    assert body["images"] == {
        "icon": f"{PUBLIC_URL}/i/{design['images']['icon']}.png",
        "logo": f"{PUBLIC_URL}/i/{design['images']['logo']}.png",
    }
    image = await client.get(body["images"]["icon"].removeprefix(PUBLIC_URL))
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"


async def test_a_request_renders_each_wallet_once_and_writes_nothing(
    client: httpx.AsyncClient,
    tenant: dict[str, str],
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = tenant["api_key"]
    design = await cafe_design(client, key)
    calls: dict[str, int] = {}

    def counted(name: str) -> Any:
        real = getattr(preview_module, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] = calls.get(name, 0) + 1
            return real(*args, **kwargs)

        return call

    for name in ("render_pass_json", "render_class", "render_object", "validate_rendered"):
        monkeypatch.setattr(preview_module, name, counted(name))

    async def rows() -> list[int | None]:
        async with runtime.db.sessions() as session:
            return [
                await session.scalar(select(func.count()).select_from(model))
                for model in (Asset, Template, TemplateVersion, AuditEvent)
            ]

    before = await rows()
    response = await _preview(client, key, style="storeCard", design=design, language="fr")
    assert response.status_code == 200, response.text
    assert response.json()["problems"] == []
    assert calls == {
        "render_pass_json": 1,
        "render_class": 1,
        "render_object": 1,
        "validate_rendered": 1,
    }
    assert await rows() == before


async def test_problems_are_a_200_with_their_paths(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    design = await cafe_design(client, key)
    design["colors"]["background"] = "blue-ish"
    design["fields"]["primary"][0]["value"] = "{{ pionts }}"
    design["images"]["logo"] = str(uuid.uuid4())  # not an upload of this tenant
    design["images"]["strip"] = await upload(client, key, 300, 100)  # too small for a strip
    response = await _preview(
        client, key, style="storeCard", design=design, sample_data={"points": 1, "tier": "x"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is False
    found = {(p["path"], p["code"], p["severity"], p["source"]) for p in body["problems"]}
    assert {
        ("/colors/background", "invalid_color", "error", "design"),
        ("/fields/primary/0/value", "placeholder_unknown", "warning", "placeholders"),
        ("/images/logo", "asset_not_found", "error", "images"),
        ("/images/strip", "image_too_small", "error", "images"),
    } <= found
    assert body["pass_json"] is not None  # the rest of the design still renders


async def test_an_image_of_another_tenant_is_unknown_here(
    runtime: Runtime, client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    design = await cafe_design(client, tenant["api_key"])
    async with runtime.transaction() as session:
        other = await tenants.create_tenant(session, "Other", runtime.clock())
        other_key = (
            await tenants.create_api_key(session, other.id, name="o", now=runtime.clock())
        ).secret
    body = (await _preview(client, other_key, style="storeCard", design=design)).json()
    codes = {(p["path"], p["code"]) for p in body["problems"]}
    assert ("/images/icon", "asset_not_found") in codes
    assert body["images"] == {}


async def test_scopes_templates_read_or_write(
    runtime: Runtime, client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    design = {"organization_name": "A", "description": "B", "images": {"icon": "x"}}
    assert (
        await client.post("/api/v1/previews", json={"style": "generic", "design": design})
    ).status_code == 401
    wrong = await client.post(
        "/api/v1/previews",
        headers=auth("pm_nope_nope"),
        json={"style": "generic", "design": design},
    )
    assert wrong.status_code == 401
    for scope, status in (
        (Scope.PASSES_READ, 403),
        (Scope.TEMPLATES_READ, 200),
        (Scope.TEMPLATES_WRITE, 200),
    ):
        key = await _key(runtime, tenant["tenant_id"], scope)
        response = await _preview(client, key, style="generic", design=design)
        assert response.status_code == status, (scope, response.text)
    refused = await _preview(
        client,
        await _key(runtime, tenant["tenant_id"], Scope.PASSES_READ),
        style="generic",
        design=design,
    )
    assert refused.json()["error"]["code"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"style": "storeCard"}, 422, "invalid_request"),
        ({"style": "poster", "design": {}}, 422, "invalid_request"),
        ({"style": "storeCard", "design": []}, 422, "invalid_request"),
        ({"style": "storeCard", "design": "{}"}, 422, "invalid_request"),
        ({"style": "storeCard", "design": {}, "extra": 1}, 422, "invalid_request"),
        ({"style": "storeCard", "design": {}, "language": "x" * 36}, 422, "invalid_request"),
        ({"style": "storeCard", "design": {}, "template_id": "nope"}, 422, "invalid_request"),
        (
            {"style": "storeCard", "design": {}, "sample_data": {"a": "b\u0000"}},
            400,
            "invalid_text",
        ),
        ({"style": "storeCard", "design": {"organization_name": "A\u0000"}}, 400, "invalid_text"),
        ({"style": "storeCard", "design": {}, "language": "fr\nx"}, 400, "invalid_text"),
    ],
)
async def test_malformed_requests_are_4xx_with_their_code(
    client: httpx.AsyncClient, tenant: dict[str, str], body: dict[str, Any], status: int, code: str
) -> None:
    response = await client.post("/api/v1/previews", headers=auth(tenant["api_key"]), json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


async def test_a_body_that_is_not_json_is_refused(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/previews",
        headers={**auth(tenant["api_key"]), "Content-Type": "application/json"},
        content=b'{"style": "storeCard", "design": {',
    )
    assert response.status_code == 422
    as_form = await client.post(
        "/api/v1/previews", headers=auth(tenant["api_key"]), content=b"style=storeCard"
    )
    assert as_form.status_code == 415
    assert as_form.json()["error"]["code"] == "unsupported_media_type"


async def test_a_huge_design_is_refused_by_the_body_limit(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    design = {
        "organization_name": "A",
        "description": "B",
        "images": {"icon": "x"},
        "localizations": {"fr": {f"text {i}": "x" * 1000 for i in range(1100)}},
    }
    response = await _preview(client, tenant["api_key"], style="storeCard", design=design)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "body_too_large"
    assert error["details"]["route_class"] == "api"


async def test_hostile_text_comes_back_as_data(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    design = await cafe_design(client, key)
    hostile = "<script>alert('x')</script>"
    design["organization_name"] = hostile
    design["fields"]["secondary"][0]["label"] = '"><img src=x onerror=alert(1)>'
    response = await _preview(
        client, key, style="storeCard", design=design, sample_data={"name": hostile}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["pass_json"]["organizationName"] == hostile
    assert body["pass_json"]["storeCard"]["secondaryFields"][0]["value"] == hostile
    assert body["google_class"]["issuerName"] == hostile
    assert "<script" not in body["barcode"]["svg"]
    assert json.loads(response.text)["pass_json"]["organizationName"] == hostile


async def test_a_template_s_programs_fill_their_placeholders(
    runtime: Runtime, client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    design = await cafe_design(client, key)
    design["fields"]["secondary"].append(
        {"key": "next", "label": "NEXT", "value": "{{ next_tier }}"}
    )
    created = await client.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "Loyalty", "style": "storeCard", "design": design},
    )
    assert created.status_code == 201, created.text
    template_id = created.json()["id"]
    config = {
        "currency": {"code": "points", "name": "point", "plural": "points"},
        "tiers": [
            {"key": "bronze", "name": "Bronze", "threshold": 0},
            {"key": "gold", "name": "Gold", "threshold": 1000},
        ],
    }
    program = await client.post(
        "/api/v1/programs",
        headers=auth(key),
        json={"name": "Café club", "template_id": template_id, "config": config},
    )
    assert program.status_code == 201, program.text
    alone = (
        await _preview(client, key, style="storeCard", design=design, sample_data={"x": 1})
    ).json()
    assert any(p["code"] == "placeholder_unknown" for p in alone["problems"])
    backed = await _preview(
        client, key, style="storeCard", design=design, sample_data={"x": 1}, template_id=template_id
    )
    assert [p for p in backed.json()["problems"] if p["code"] == "placeholder_unknown"] == []
    missing = await _preview(
        client, key, style="storeCard", design=design, template_id=str(uuid.uuid4())
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "template_not_found"

    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, uuid.UUID(tenant["tenant_id"]))
        options = await previews.available_placeholders(
            ctx, template_id=uuid.UUID(template_id), design=design, sample_data={"name": "Ada"}
        )
    by_name = {option.name: option for option in options}
    assert by_name["tier"].source == "program"
    assert by_name["tier"].sample == "Bronze"
    assert by_name["next_tier"].sample == "Gold"
    assert by_name["points"].sample == 500
    assert by_name["points"].provided_by == ("program 'Café club'",)
    assert by_name["points"].used_at == ("/fields/primary/0/value",)
    assert by_name["next_reward"].token == "{{ next_reward }}"
    assert by_name["serial_number"].source == "built_in"
    assert by_name["message"].source == "message"
    assert by_name["name"].sample == "Ada"
    sources = [option.source.value for option in options]
    assert sources == sorted(sources, key=["program", "data", "built_in", "message"].index)


async def test_a_starter_uploads_its_images_once_and_saves_as_a_template(
    runtime: Runtime, client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    tenant_id = uuid.UUID(tenant["tenant_id"])
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, tenant_id)
        started = await previews.start_from_starter(ctx, "event-ticket")
        again = await previews.start_from_starter(ctx, "event-ticket")
        template, version = await previews.create_from_starter(
            ctx, "cafe-stamp-card", name="Stamps"
        )
        with pytest.raises(previews.StarterNotFound):
            await previews.start_from_starter(ctx, "nope")
    assert started.style == "eventTicket"
    assert started.design["images"] == again.design["images"]  # the same bytes: the same images
    parse_design(started.design)
    assert template.name == "Stamps"
    assert template.style == "storeCard"
    assert version.version == 1
    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, tenant_id)
        stored, _ = await get_template(ctx, template.id)
        assert stored.id == template.id
        result = await previews.preview(
            ctx, style=started.style, design=started.design, sample_data=started.sample_data
        )
        with pytest.raises(TemplateNotFound):
            await previews.preview(ctx, style=started.style, design={}, template_id=uuid.uuid4())
    assert result.valid
    codes = {p.code for p in result.problems}
    # this server's public URL is https: nothing at all to report
    assert codes == set(), result.problems
    response = await _preview(
        client,
        tenant["api_key"],
        style=started.style,
        design=started.design,
        sample_data=started.sample_data,
        language="ar",
    )
    body = response.json()
    assert body["problems"] == []
    assert body["direction"] == "rtl"
    assert set(body["images"]) == {"icon", "logo", "strip"}


async def test_the_operation_is_documented_with_its_errors(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operation = schema["paths"]["/api/v1/previews"]["post"]
    assert operation["security"]
    responses = operation["responses"]
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("PreviewOut")
    for status in ("400", "401", "403", "404", "413", "415", "422", "429"):
        assert status in responses, status
    assert "`body_too_large`" in responses["413"]["description"]
    assert "`template_not_found`" in responses["404"]["description"]
    assert "`starter_not_found`" in responses["404"]["description"]


async def test_previews_are_rate_limited_per_api_key(
    database_url: str, tmp_path: Path, apns: FakeApns
) -> None:
    settings: Settings = make_settings(
        database_url, tmp_path, apns, rate_limits={"previews": "2/minute"}
    )
    runtime = Runtime(settings)
    await runtime.start(worker=False, migrate=False)
    try:
        async with runtime.transaction() as session:
            created = await tenants.create_tenant(session, "Limited", runtime.clock())
            key = (
                await tenants.create_api_key(session, created.id, name="k", now=runtime.clock())
            ).secret
        app = create_app(runtime=runtime, worker=False, migrate=False)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL
        ) as http:
            design = {"organization_name": "A", "description": "B", "images": {"icon": "x"}}
            statuses = [
                (await _preview(http, key, style="generic", design=design)).status_code
                for _ in range(3)
            ]
            assert statuses == [200, 200, 429]
            refused = await _preview(http, key, style="generic", design=design)
            assert refused.json()["error"]["details"]["limit"] == "previews"
            assert "Retry-After" in refused.headers
    finally:
        await runtime.stop()
