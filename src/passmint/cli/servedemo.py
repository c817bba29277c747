"""``passmint demo``: a demo tenant with a throwaway PKI, a loyalty template and a few passes,
then the server. Everything lives in the data directory (SQLite by default)."""

from __future__ import annotations

import asyncio
import json
from io import BytesIO
from pathlib import Path
from typing import Annotated, Any

import typer

from passmint.cli.common import write_private_file
from passmint.config import Settings, get_settings
from passmint.kit.clock import utcnow
from passmint.passes.apple.devpki import generate_dev_pki

DEMO_NAME = "passmint demo café"


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (*rgb, 255))
    draw = ImageDraw.Draw(image)
    side = min(width, height)
    draw.ellipse(
        (
            width / 2 - side * 0.35,
            height / 2 - side * 0.35,
            width / 2 + side * 0.35,
            height / 2 + side * 0.35,
        ),
        fill=(255, 244, 230, 255),
    )
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def demo_design(icon: str, logo: str, strip: str) -> dict[str, Any]:
    return {
        "organization_name": "Café Lumen",
        "description": "Café Lumen loyalty card",
        "logo_text": "Café Lumen",
        "colors": {"background": "#3c2314", "foreground": "#fff4e6", "label": "#e6be96"},
        "images": {"icon": icon, "logo": logo, "strip": strip},
        "fields": {
            "header": [
                {
                    "key": "tier",
                    "label": "TIER",
                    "value": "{{ tier }}",
                    "change_message": "You are now %@",
                }
            ],
            "primary": [
                {
                    "key": "points",
                    "label": "POINTS",
                    "value": "{{ points }}",
                    "change_message": "Your balance is now %@ points",
                }
            ],
            "secondary": [{"key": "member", "label": "MEMBER", "value": "{{ name }}"}],
            "auxiliary": [
                {"key": "next", "label": "NEXT REWARD", "value": "Free flat white at 1,500"}
            ],
            "back": [
                {
                    "key": "terms",
                    "label": "TERMS",
                    "value": "Points expire 12 months after they are earned.",
                }
            ],
        },
        "barcode": {"format": "qr", "message": "{{ serial_number }}", "alt_text": "{{ name }}"},
        "locations": [
            {"latitude": 51.5074, "longitude": -0.1278, "relevant_text": "Your coffee is waiting"}
        ],
        "localizations": {
            "en": {
                "POINTS": "POINTS",
                "TIER": "TIER",
                "MEMBER": "MEMBER",
                "NEXT REWARD": "NEXT REWARD",
                "TERMS": "Terms",
            },
            "fr": {
                "POINTS": "POINTS",
                "TIER": "NIVEAU",
                "MEMBER": "MEMBRE",
                "NEXT REWARD": "PROCHAINE RÉCOMPENSE",
                "TERMS": "Conditions",
            },
            "ar": {
                "POINTS": "النقاط",
                "TIER": "المستوى",
                "MEMBER": "العضو",
                "NEXT REWARD": "المكافأة التالية",
                "TERMS": "الشروط",
            },
        },
    }


DEMO_PROGRAM_CONFIG: dict[str, Any] = {
    "currency": {"code": "points", "name": "point", "plural": "points"},
    "earn_rules": [
        {"key": "spend", "trigger": "purchase", "points": 1, "per_amount": 10, "currency": "EUR"},
        {"key": "welcome", "trigger": "enrollment", "points": 40},
    ],
    "tiers": [
        {"key": "bronze", "name": "Bronze", "threshold": 0},
        {"key": "silver", "name": "Silver", "threshold": 250, "multiplier": 12_500},
        {"key": "gold", "name": "Gold", "threshold": 1000, "multiplier": 15_000},
    ],
    "expiry": {"kind": "rolling", "days": 365},
}


async def seed(settings: Settings) -> dict[str, Any]:
    """Create (or reuse) the demo tenant, credentials, template and passes."""
    from passmint.kit.clock import utcnow as clock
    from passmint.loyalty import service as loyalty
    from passmint.loyalty.schemas import ActivityIn, CustomerIn, RewardIn
    from passmint.passes import service as passes
    from passmint.passes.apple import credentials
    from passmint.passes.apple.styles import PassStyle
    from passmint.passes.designs.schemas import TemplateDesign
    from passmint.runtime import Runtime
    from passmint.tenants import service as tenants

    state_file = Path(settings.data_dir) / "demo.json"
    if state_file.exists():
        state: dict[str, Any] = json.loads(state_file.read_text())
        return state
    certs_dir = Path(settings.data_dir) / "demo-certs"
    pki = generate_dev_pki(now=clock())
    files = pki.files()
    for name, data in files.items():
        write_private_file(certs_dir / name, data, private=name.endswith("key.pem"))
    from passmint.app import register_jobs
    from passmint.loyalty.schemas import ProgramConfig

    register_jobs()  # the seed runs the render jobs of the cards it opens
    demo_program = ProgramConfig.model_validate(DEMO_PROGRAM_CONFIG)
    runtime = Runtime(settings)
    await runtime.start(worker=False, migrate=True)
    try:
        async with runtime.transaction() as session:
            now = clock()
            tenant = await tenants.create_tenant(session, DEMO_NAME, now)
            key = await tenants.create_api_key(session, tenant.id, name="demo", now=now)
            await credentials.put_credentials(
                session,
                runtime.box,
                tenant.id,
                now=now,
                certificate=files["pass-cert.pem"],
                private_key=files["pass-key.pem"],
                password=None,
                p12=False,
                wwdr=files["wwdr.pem"],
                apns_key=None,
            )
            ctx = runtime.pass_context(session, tenant.id)
            icon = await passes.upload_image(ctx, _png(87, 87, (200, 120, 40)))
            logo = await passes.upload_image(ctx, _png(480, 150, (60, 35, 20)))
            strip = await passes.upload_image(ctx, _png(1125, 369, (90, 55, 30)))
            design = TemplateDesign.model_validate(
                demo_design(str(icon.id), str(logo.id), str(strip.id))
            )
            template, _ = await passes.create_template(
                ctx, name="Café loyalty", style=PassStyle.STORE_CARD, design=design
            )
            program = await loyalty.create_program(
                ctx, name="Café points", template_id=template.id, config=demo_program
            )
            await loyalty.create_reward(
                ctx,
                program.id,
                RewardIn(name="Free coffee", cost=300, kind="credit", credit_amount=20),
            )
            issued = []
            for name, email, spent in (
                ("Ada Lovelace", "ada@example.com", 13_500),
                ("Grace Hopper", "grace@example.com", 2_740),
                ("Alan Turing", "alan@example.com", 0),
            ):
                card = await loyalty.create_account(
                    ctx,
                    program.id,
                    customer=CustomerIn(name=name, email=email),
                    external_id=None,
                    referral_code=None,
                    actor=loyalty.SYSTEM,
                )
                if spent:
                    await loyalty.post_activity(
                        ctx,
                        ActivityIn(
                            account_id=card.id,
                            kind="purchase",
                            amount=spent,
                            currency="EUR",
                            external_id=f"demo-{card.number}",
                        ),
                        source="demo",
                        actor=loyalty.SYSTEM,
                    )
                assert card.pass_id is not None
                pass_ = await passes.get_pass(ctx, card.pass_id)
                issued.append(
                    {
                        "id": str(pass_.id),
                        "account_id": str(card.id),
                        "card_number": card.number,
                        "name": name,
                        "token": pass_.download_token,
                    }
                )
        if runtime.worker is not None:  # render the cards' passes with their points
            await runtime.worker.run_until_idle()
        state = {
            "program_id": str(program.id),
            "tenant_id": str(tenant.id),
            "api_key": key.secret,
            "template_id": str(template.id),
            "passes": issued,
            "ca": str(certs_dir / "ca.pem"),
        }
    finally:
        await runtime.stop()
    write_private_file(state_file, json.dumps(state, indent=2).encode(), private=True)
    return state


def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    seed_only: Annotated[
        bool, typer.Option("--seed-only", help="Create the demo data, print it, and exit.")
    ] = False,
) -> None:
    """Create a demo tenant with test certificates, a loyalty template and passes; serve."""
    import os

    if "PASSMINT_PUBLIC_URL" not in os.environ:
        os.environ["PASSMINT_PUBLIC_URL"] = f"http://{host}:{port}"
        get_settings.cache_clear()
    settings = get_settings()
    state = asyncio.run(seed(settings))
    typer.echo(f"passmint demo — data in {settings.data_dir} (started {utcnow():%H:%M:%S} UTC)")
    typer.echo(f"API key: {state['api_key']}   (tenant {state['tenant_id']})")
    typer.echo(f"API docs: {settings.public_url.rstrip('/')}/docs")
    base = settings.public_url.rstrip("/")
    for item in state["passes"]:
        link = f"{base}/p/{item['token']}"
        typer.echo(f"- {item['name']}: card {item['card_number']} (account {item['account_id']})")
        typer.echo(f"  download: {link}.pkpass\n  landing:  {link}")
    typer.echo(
        f"verify a download: passmint apple verify FILE.pkpass --ca {state['ca']}\n"
        "post a purchase:   curl -X POST -H 'Authorization: Bearer <API key>' "
        '-H \'Content-Type: application/json\' -d \'{"card_number": "<card>", '
        '"kind": "purchase", "amount": 1250, "currency": "EUR", "external_id": "till-1"}\' '
        f"{base}/api/v1/activities\n"
        f"see the balance:   curl -H 'Authorization: Bearer <API key>' "
        f"{base}/api/v1/accounts/<account>/history"
    )
    if seed_only:
        return
    from passmint.cli.server import serve

    serve(host=host, port=port, workers=1, no_worker=False, log_level="info")
