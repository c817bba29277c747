"""``passmint demo``: a demo tenant with a throwaway PKI, a loyalty template and a few passes,
then the server. Everything lives in the data directory (SQLite by default)."""

from __future__ import annotations

import asyncio
import json
import secrets
import shlex
import socket
import uuid
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from passmint.cli.common import write_private_file
from passmint.config import Settings, get_settings
from passmint.kit.clock import utcnow
from passmint.wallet.apple.devpki import generate_dev_pki

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from passmint.runtime import Runtime

DEMO_NAME = "passmint demo café"
DEMO_OWNER = "owner@demo.passmint.test"


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
                {"key": "next", "label": "NEXT REWARD", "value": "{{ next_reward }}"},
                {"key": "to_go", "label": "TO GO", "value": "{{ points_to_next_reward }}"},
            ],
            "back": [
                {
                    "key": "terms",
                    "label": "TERMS",
                    "value": "Points expire 12 months after they are earned.",
                }
            ],
        },
        # The card number: what the till scans (or the cashier types from the alt text).
        "barcode": {
            "format": "qr",
            "message": "{{ card_number }}",
            "alt_text": "{{ card_number }}",
        },
        "locations": [
            {"latitude": 51.5074, "longitude": -0.1278, "relevant_text": "Your coffee is waiting"}
        ],
        "survey": {
            "question": "How was your coffee?",
            "answers": ["Loved it", "Fine", "Not great"],
        },
        "localizations": {
            "en": {
                "POINTS": "POINTS",
                "TIER": "TIER",
                "MEMBER": "MEMBER",
                "NEXT REWARD": "NEXT REWARD",
                "TO GO": "TO GO",
                "TERMS": "Terms",
                "How was your coffee?": "How was your coffee?",
                "Loved it": "Loved it",
                "Fine": "Fine",
                "Not great": "Not great",
            },
            "fr": {
                "POINTS": "POINTS",
                "TIER": "NIVEAU",
                "MEMBER": "MEMBRE",
                "NEXT REWARD": "PROCHAINE RÉCOMPENSE",
                "TO GO": "RESTANT",
                "TERMS": "Conditions",
                "How was your coffee?": "Comment était votre café ?",
                "Loved it": "Excellent",
                "Fine": "Correct",
                "Not great": "Pas terrible",
            },
            "ar": {
                "POINTS": "النقاط",
                "TIER": "المستوى",
                "MEMBER": "العضو",
                "NEXT REWARD": "المكافأة التالية",
                "TO GO": "المتبقي",
                "TERMS": "الشروط",
                "How was your coffee?": "كيف كانت قهوتك؟",
                "Loved it": "أعجبتني كثيرًا",
                "Fine": "مقبولة",
                "Not great": "ليست جيدة",
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

# The demo's one reward: the card shows it through {{ next_reward }} and
# {{ points_to_next_reward }}, so the card and the program can never disagree.
DEMO_REWARD: dict[str, Any] = {
    "name": "Free coffee",
    "cost": 300,
    "kind": "credit",
    "credit_amount": 20,
}


async def seed(settings: Settings) -> dict[str, Any]:
    """Create (or reuse) the demo tenant, credentials, template and passes."""
    from passmint.kit.clock import utcnow as clock
    from passmint.loyalty import activities, common, customers, programs, rewards
    from passmint.loyalty.schemas import ActivityIn, CustomerIn, RewardIn
    from passmint.passes import service as passes
    from passmint.passes.apple import credentials
    from passmint.runtime import Runtime
    from passmint.tenants import service as tenants
    from passmint.wallet.apple.styles import PassStyle
    from passmint.wallet.designs.schemas import TemplateDesign

    state_file = Path(settings.data_dir) / "demo.json"
    if state_file.exists():
        state: dict[str, Any] = json.loads(state_file.read_text())
        if "admin_email" not in state:  # seeded before the admin app had users
            state.update(await _owner_only(settings, uuid.UUID(state["tenant_id"])))
            write_private_file(state_file, json.dumps(state, indent=2).encode(), private=True)
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
            owner = await _add_owner(runtime, session, tenant.id)
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
            program = await programs.create_program(
                ctx, name="Café points", template_id=template.id, config=demo_program
            )
            await rewards.create_reward(
                ctx,
                program.id,
                RewardIn.model_validate(DEMO_REWARD),
            )
            issued = []
            for name, email, spent in (
                ("Ada Lovelace", "ada@example.com", 13_500),
                ("Grace Hopper", "grace@example.com", 2_740),
                ("Alan Turing", "alan@example.com", 0),
            ):
                card = await customers.create_account(
                    ctx,
                    program.id,
                    customer=CustomerIn(name=name, email=email),
                    external_id=None,
                    referral_code=None,
                    actor=common.SYSTEM,
                )
                if spent:
                    await activities.post_activity(
                        ctx,
                        ActivityIn(
                            account_id=card.id,
                            kind="purchase",
                            amount=spent,
                            currency="EUR",
                            external_id=f"demo-{card.number}",
                        ),
                        source="demo",
                        actor=common.SYSTEM,
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
            **owner,
        }
    finally:
        await runtime.stop()
    write_private_file(state_file, json.dumps(state, indent=2).encode(), private=True)
    return state


async def _add_owner(
    runtime: Runtime, session: AsyncSession, tenant_id: uuid.UUID
) -> dict[str, str]:
    """The demo tenant's owner, with a random password: who logs in to the admin app."""
    from passmint.tenants import members
    from passmint.web.deps import staff_context

    password = secrets.token_urlsafe(12)
    await members.add_member(
        staff_context(runtime, session),
        tenant_id,
        email=DEMO_OWNER,
        role="owner",
        name="Demo owner",
        password=password,
    )
    return {"admin_email": DEMO_OWNER, "admin_password": password}


async def _owner_only(settings: Settings, tenant_id: uuid.UUID) -> dict[str, str]:
    from passmint.runtime import Runtime

    runtime = Runtime(settings)
    await runtime.start(worker=False, migrate=True)
    try:
        async with runtime.transaction() as session:
            return await _add_owner(runtime, session, tenant_id)
    finally:
        await runtime.stop()


def _reachable_host(host: str) -> str:
    """A host name others can use for ``host``: listening on every interface, this machine's
    address on its network (found by name lookup, no packet sent), else loopback."""
    if host not in ("0.0.0.0", "::", ""):  # noqa: S104 - comparing, not binding
        return f"[{host}]" if ":" in host else host
    try:
        addresses = socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        addresses = []
    found = next((a for a in addresses if not a.startswith("127.")), None)
    return found or "127.0.0.1"


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on (host, port): the demo says so before seeding."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def demo_env(state: dict[str, Any], api_base: str, public_base: str, ca: Path) -> str:
    """``data/demo.env``: the demo's values as shell variables (``. data/demo.env``)."""
    first = state["passes"][0]
    values = {
        "BASE": api_base,
        "PUBLIC_URL": public_base,
        "KEY": state["api_key"],
        "TENANT": state["tenant_id"],
        "PROGRAM": state["program_id"],
        "DEMO_TEMPLATE": state["template_id"],
        "CARD": first["card_number"],
        "ACCOUNT": first["account_id"],
        "PASS": first["id"],
        # for this terminal: PASSMINT_PUBLIC_URL may be a tunnel only phones go through
        "PASS_LINK": f"{api_base}/p/{first['token']}",
        "CA": str(ca),
        "ADMIN_URL": f"{api_base}/admin",
        "ADMIN_EMAIL": state["admin_email"],
        "ADMIN_PASSWORD": state["admin_password"],
    }
    lines = ["# passmint demo: `. data/demo.env` sets these in your shell"]
    lines += [f"{name}={shlex.quote(value)}" for name, value in values.items()]
    return "\n".join(lines) + "\n"


def demo_instructions(state: dict[str, Any], api_base: str, public_base: str, ca: Path) -> str:
    """What the demo prints: the key, the cards and commands ready to paste as they are."""
    key = state["api_key"]
    auth = f"-H 'Authorization: Bearer {key}'"
    first = state["passes"][0]
    lines = [
        f"Admin app: {api_base}/admin   log in as {state['admin_email']} with the password "
        f"{state['admin_password']}",
        f"API docs:  {api_base}/docs   (press Authorize and paste the API key)",
        f"API key:   {key}   (tenant {state['tenant_id']})",
        "",
        "Cards (the download is the signed .pkpass; the landing page offers the right wallet):",
    ]
    for item in state["passes"]:
        link = f"{public_base}/p/{item['token']}"
        lines += [
            f"- {item['name']}: card {item['card_number']} (account {item['account_id']})",
            f"    download: {link}.pkpass",
            f"    landing:  {link}",
        ]
    purchase = (
        f'{{"card_number": "{first["card_number"]}", "kind": "purchase", "amount": 1250, '
        '"currency": "EUR", "external_id": "till-1/\'"$(date +%s%N)"\'"}'
    )
    lines += [
        "",
        "Try it from this folder, in another terminal (each line is ready to paste):",
        "  . .venv/bin/activate                 # puts the passmint command on your PATH",
        f"  curl -so card.pkpass {api_base}/p/{first['token']}.pkpass",
        f"  passmint apple verify card.pkpass --ca {ca}",
        f"  curl -X POST {auth} -H 'Content-Type: application/json' \\",
        f"       -d '{purchase}' {api_base}/api/v1/activities",
        f"  curl {auth} {api_base}/api/v1/accounts/{first['account_id']}/history",
        f"The same values are in {ca.parent.parent / 'demo.env'} (`. {ca.parent.parent}/demo.env`)"
        " for the README's examples.",
    ]
    return "\n".join(lines)


def demo(
    host: Annotated[
        str, typer.Option(help="Interface to listen on (0.0.0.0: every one, for a phone).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    seed_only: Annotated[
        bool, typer.Option("--seed-only", help="Create the demo data, print it, and exit.")
    ] = False,
) -> None:
    """Create a demo tenant with test certificates, a loyalty program and cards; serve."""
    import os

    from passmint.cli.processes import start_logging

    if not seed_only and port_in_use(host, port):
        typer.echo(
            f"error: port {port} on {host} is already in use (another passmint demo?). "
            f"Stop it, or pick another port: make demo PORT={port + 1} "
            f"(or passmint demo --port {port + 1}).",
            err=True,
        )
        raise typer.Exit(1)
    reachable = _reachable_host(host)
    api_base = f"http://{reachable}:{port}"
    if "PASSMINT_PUBLIC_URL" not in os.environ:
        os.environ["PASSMINT_PUBLIC_URL"] = api_base
        get_settings.cache_clear()
    start_logging()
    settings = get_settings()
    public_base = settings.public_url.rstrip("/")
    state = asyncio.run(seed(settings))
    ca = Path(settings.data_dir) / "demo-certs" / "ca.pem"
    env_file = Path(settings.data_dir) / "demo.env"
    write_private_file(env_file, demo_env(state, api_base, public_base, ca).encode(), private=True)
    typer.echo(f"passmint demo: data in {settings.data_dir} (started {utcnow():%H:%M:%S} UTC)")
    typer.echo(demo_instructions(state, api_base, public_base, ca))
    typer.echo(
        "\nThe demo's passes are signed with test certificates: they verify against "
        f"{ca}, but a real iPhone refuses them until you upload your Pass Type ID "
        "certificate (PUT /api/v1/credentials/apple)."
    )
    if host in ("0.0.0.0", "::"):  # noqa: S104 - comparing, not binding
        typer.echo(
            f"Listening on every interface: a phone on this network opens {public_base}/p/…; "
            "from elsewhere set PASSMINT_PUBLIC_URL to the https URL that reaches this "
            "machine (a tunnel or a reverse proxy), which also goes into the passes."
        )
    else:
        typer.echo(
            "To open the links on a phone, run `make demo HOST=0.0.0.0` (and set "
            "PASSMINT_PUBLIC_URL to an address the phone reaches)."
        )
    if seed_only:
        return
    from passmint.cli.server import serve

    serve(host=host, port=port, workers=1, no_worker=False, log_level=None)
