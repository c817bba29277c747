"""Benchmark: Google Wallet classes, objects and signed save links per second.

    python -m bench.google_render [--rounds R] [--seconds S] [--check]

Everything runs in this one process (one thread, so one core), on passmint's pure Google
Wallet code: ``render.render_class``, ``render.render_object`` and ``savelink.save_jwt`` /
``save_link``, for a realistic loyalty design (fields in every area, English, French and
Arabic texts, a QR code, three locations, logo and strip images, links, an expiry) and for
one design of every vertical. Objects are rendered from changing pass data (a new serial,
points, name ... each time); links sign a new object each time with the template's class.

Baselines measured in the same run, in rounds that alternate with the figures so that
machine noise hits them alike (medians are reported):

* the ceiling for save links: raw RSA-2048 PKCS#1 v1.5 SHA-256 signatures with
  ``cryptography``, over the very bytes a save JWT signs, with the same throwaway key;
* a floor for rendering: ``json.dumps`` of the rendered object body, as PyJWT encodes it.

Targets: full save links (class + object in the JWT) ≥ 70% of the raw RS256 ceiling, and
≥ 10,000 loyalty object renders per second. PASS/MISS lines are printed; the exit status
is 0 either way unless ``--check`` is given.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding

from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs.schemas import ImageName, TemplateDesign, parse_design
from passmint.wallet.google.render import render_class, render_object
from passmint.wallet.google.savelink import MAX_JWT_LENGTH, ServiceAccount, save_jwt, save_link
from passmint.wallet.google.verticals import Vertical, vertical_for

TARGET_LINK_RATIO = 0.70
"""Full save links per second / raw RS256 signatures per second, one core."""
TARGET_OBJECTS = 10_000
"""Loyalty object renders per second, one core (an absolute figure: machine-dependent)."""

ISSUER = "3388000000022222222"
NOW = datetime.now(UTC)
EXPIRES = "2027-12-31T23:59:00+00:00"
IMAGE_URLS = {
    name.value: f"https://passes.example.com/google/images/tv_1/{name.value}.png"
    for name in ImageName
}
ORIGINS = ("https://passes.example.com",)
VARIANTS = 64
"""Distinct pass data (and object bodies) cycled through while timing."""

FIRST = ("Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances")
LAST = ("Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen")


# -- designs (one per vertical) -------------------------------------------------------------


def loyalty() -> dict[str, Any]:
    """The realistic design the headline figures use."""
    return {
        "organization_name": "Maison Ambre",
        "description": "Maison Ambre rewards card",
        "logo_text": "Maison Ambre Rewards",
        "colors": {"background": "#3d2b1f", "foreground": "#fff8f0", "label": "#e0b07a"},
        "images": {"icon": "ast_icon", "logo": "ast_logo", "strip": "ast_strip"},
        "localized_images": {"ar": {"logo": "ast_logo_ar"}},
        "fields": {
            "header": [{"key": "tier", "label": "TIER", "value": '{{ tier | default: "Bronze" }}'}],
            "primary": [
                {
                    "key": "points",
                    "label": "POINTS",
                    "value": "{{ points }}",
                    "number_style": "decimal",
                    "change_message": "You now have %@ points",
                },
                {"key": "stamps", "label": "STAMPS", "value": "{{ stamps | default: 0 }}"},
            ],
            "secondary": [
                {
                    "key": "member",
                    "label": "MEMBER",
                    "value": "{{ member.first_name }} {{ member.last_name }}",
                },
                {
                    "key": "next_reward",
                    "label": "NEXT REWARD",
                    "value": "{{ points_to_reward }} points to go",
                },
            ],
            "auxiliary": [
                {
                    "key": "since",
                    "label": "MEMBER SINCE",
                    "value": "{{ member.joined_at }}",
                    "date_style": "medium",
                    "time_style": "none",
                },
                {"key": "store", "label": "HOME STORE", "value": "{{ member.store }}"},
            ],
            "back": [
                {"key": "terms", "label": "Terms", "value": "Points expire after 12 months."},
                {"key": "phone", "label": "Call us", "value": "+44 20 7946 0000"},
                {"key": "member_id", "label": "Member number", "value": "{{ member.id }}"},
            ],
        },
        "barcode": {
            "format": "qr",
            "message": "{{ serial_number }}",
            "alt_text": "{{ member.id }}",
        },
        "locations": [
            {"latitude": 51.5136, "longitude": -0.1365, "relevant_text": "Fresh bread is in"},
            {"latitude": 51.5226, "longitude": -0.0776},
            {"latitude": 51.4613, "longitude": -0.1156},
        ],
        "links": [
            {"label": "Terms", "url": "https://ambre.example/terms"},
            {"label": "My account", "url": "https://ambre.example/account/{{ member.id }}"},
        ],
        "localizations": {
            "fr": {
                "TIER": "NIVEAU",
                "POINTS": "POINTS",
                "STAMPS": "TAMPONS",
                "MEMBER": "MEMBRE",
                "NEXT REWARD": "PROCHAINE RÉCOMPENSE",
                "MEMBER SINCE": "MEMBRE DEPUIS",
                "HOME STORE": "BOUTIQUE",
                "Terms": "Conditions",
                "Points expire after 12 months.": "Les points expirent après 12 mois.",
                "Call us": "Appelez-nous",
                "Member number": "Numéro de membre",
                "My account": "Mon compte",
            },
            "ar": {
                "TIER": "المستوى",
                "POINTS": "النقاط",
                "STAMPS": "الأختام",
                "MEMBER": "العضو",
                "NEXT REWARD": "المكافأة التالية",
                "MEMBER SINCE": "عضو منذ",
                "HOME STORE": "المتجر",
                "Terms": "الشروط",
                "Points expire after 12 months.": "تنتهي صلاحية النقاط بعد 12 شهرًا.",
                "Call us": "اتصل بنا",
                "Member number": "رقم العضوية",
                "My account": "حسابي",
                "Maison Ambre": "ميزون عنبر",
            },
        },
        "expiration_date": "{{ expires_at }}",
    }


def loyalty_data(i: int) -> dict[str, Any]:
    return {
        "points": i * 37 % 5000,
        "stamps": i % 10,
        "tier": ("Bronze", "Silver", "Gold")[i % 3],
        "points_to_reward": 100 - i % 100,
        "member": {
            "first_name": FIRST[i % len(FIRST)],
            "last_name": LAST[i * 3 % len(LAST)],
            "joined_at": f"2024-{i % 12 + 1:02d}-01T09:00:00+00:00",
            "store": ("Soho", "Shoreditch", "Brixton")[i % 3],
            "id": f"M{i:08d}",
        },
        "expires_at": EXPIRES,
    }


def offer() -> dict[str, Any]:
    return {
        "organization_name": "Maison Ambre",
        "description": "15% off any cake",
        "colors": {"background": "#b5473a", "foreground": "#ffffff"},
        "images": {"icon": "ast_icon", "logo": "ast_logo", "strip": "ast_strip_offer"},
        "fields": {
            "primary": [
                {"key": "off", "label": "OFF", "value": "{{ discount }}", "number_style": "percent"}
            ],
            "secondary": [{"key": "offer", "label": "OFFER", "value": "Any whole cake"}],
            "auxiliary": [{"key": "code", "label": "CODE", "value": "{{ code }}"}],
            "back": [{"key": "terms", "label": "Terms", "value": "One per customer."}],
        },
        "barcode": {"format": "code128", "message": "{{ code }}", "alt_text": "{{ code }}"},
        "locations": [{"latitude": 51.5136, "longitude": -0.1365}],
        "localizations": {
            "fr": {"OFFER": "OFFRE", "Terms": "Conditions", "One per customer.": "Un par client."},
            "ar": {"OFFER": "العرض", "Terms": "الشروط", "One per customer.": "واحد لكل عميل."},
        },
        "expiration_date": "{{ expires_at }}",
    }


def offer_data(i: int) -> dict[str, Any]:
    return {"discount": 0.15, "code": f"CAKE-{i:06d}", "expires_at": EXPIRES}


def gift_card() -> dict[str, Any]:
    return {
        "organization_name": "Maison Ambre",
        "description": "Maison Ambre gift card",
        "gift_card": True,
        "colors": {"background": "#264653", "foreground": "#ffffff"},
        "images": {"icon": "ast_icon", "logo": "ast_logo", "strip": "ast_strip_gift"},
        "fields": {
            "primary": [
                {
                    "key": "balance",
                    "label": "BALANCE",
                    "value": "{{ balance }}",
                    "currency_code": "GBP",
                }
            ],
            "secondary": [{"key": "card", "label": "CARD", "value": "{{ card_number }}"}],
            "back": [{"key": "help", "label": "Help", "value": "ambre.example/gift"}],
        },
        "barcode": {"format": "pdf417", "message": "{{ card_number }}"},
        "localizations": {"fr": {"CARD": "CARTE", "BALANCE": "SOLDE", "Help": "Aide"}},
    }


def gift_card_data(i: int) -> dict[str, Any]:
    return {
        "balance": 2500 + i,
        "currency": "GBP",
        "card_number": f"6006 4912 {i:04d}",
        "pin": f"{i * 7 % 10000:04d}",
    }


def event_ticket() -> dict[str, Any]:
    return {
        "organization_name": "Salle Ambre",
        "description": "Concert ticket",
        "colors": {"background": "#111111", "foreground": "#ffffff", "label": "#bbbbbb"},
        "images": {"icon": "ast_icon", "logo": "ast_logo", "background": "ast_bg"},
        "fields": {
            "header": [{"key": "date", "label": "DATE", "value": "20 Dec 2026"}],
            "primary": [{"key": "event", "label": "EVENT", "value": "Night of Strings"}],
            "secondary": [
                {"key": "section", "label": "SECTION", "value": "{{ seat.section }}"},
                {"key": "row", "label": "ROW", "value": "{{ seat.row }}"},
                {"key": "seat", "label": "SEAT", "value": "{{ seat.number }}"},
            ],
            "auxiliary": [{"key": "holder", "label": "HOLDER", "value": "{{ holder }}"}],
        },
        "barcode": {"format": "qr", "message": "{{ ticket_code }}"},
        "semantics": {"eventName": "Night of Strings", "venueName": "Salle Ambre"},
        "links": [{"label": "Venue", "url": "https://salle.example/plan"}],
        "localizations": {
            "es": {"SECTION": "SECCIÓN", "ROW": "FILA", "SEAT": "ASIENTO", "Venue": "Sala"}
        },
    }


def event_ticket_data(i: int) -> dict[str, Any]:
    return {
        "seat": {"section": "ABC"[i % 3], "row": str(i % 30 + 1), "number": i % 40 + 1},
        "holder": f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}",
        "ticket_code": f"TKT-{i:08d}",
    }


def boarding(transit: str) -> dict[str, Any]:
    return {
        "organization_name": "Aero Ambre" if transit == "air" else "Ambre Coaches",
        "description": "Boarding pass",
        "transit_type": transit,
        "colors": {"background": "#023047", "foreground": "#ffffff", "label": "#8ecae6"},
        "images": {"icon": "ast_icon", "logo": "ast_logo", "footer": "ast_footer"},
        "fields": {
            "header": [{"key": "gate", "label": "GATE", "value": "{{ gate }}"}],
            "primary": [
                {"key": "from", "label": "{{ origin.city }}", "value": "{{ origin.code }}"},
                {"key": "to", "label": "{{ destination.city }}", "value": "{{ destination.code }}"},
            ],
            "secondary": [{"key": "passenger", "label": "PASSENGER", "value": "{{ passenger }}"}],
            "auxiliary": [{"key": "seat", "label": "SEAT", "value": "{{ seat }}"}],
        },
        "barcode": {"format": "pdf417", "message": "{{ booking.reference }}"},
        "localizations": {"pt": {"PASSENGER": "PASSAGEIRO", "SEAT": "LUGAR"}},
    }


def flight() -> dict[str, Any]:
    design = boarding("air")
    design["semantics"] = {
        "airlineCode": "AM",
        "flightNumber": 421,
        "departureAirportCode": "LHR",
        "destinationAirportCode": "LIS",
        "originalDepartureDate": "2026-12-20T07:45:00+00:00",
        "passengerName": {"givenName": "{{ first_name }}", "familyName": "{{ last_name }}"},
        "confirmationNumber": "{{ booking.code }}",
    }
    return design


def transit() -> dict[str, Any]:
    design = boarding("bus")
    design["semantics"] = {"passengerName": "{{ passenger }}"}
    return design


def trip_data(i: int) -> dict[str, Any]:
    first, last = FIRST[i % len(FIRST)], LAST[i % len(LAST)]
    code = f"X{i:05d}"
    return {
        "gate": f"B{i % 40 + 1}",
        "origin": {"city": "London", "code": "LHR"},
        "destination": {"city": "Lisbon", "code": "LIS"},
        "first_name": first,
        "last_name": last,
        "passenger": f"{first} {last}",
        "seat": f"{i % 30 + 1}{'ABCDEF'[i % 6]}",
        "booking": {
            "reference": f"M1{last.upper()}/{first.upper()} {code} LHRLIS AM 0421",
            "code": code,
        },
    }


def generic() -> dict[str, Any]:
    return {
        "organization_name": "Forge Gym",
        "description": "Membership card",
        "colors": {"background": "#2a9d8f", "foreground": "#ffffff"},
        "images": {"icon": "ast_icon", "logo": "ast_logo", "strip": "ast_strip_gym"},
        "fields": {
            "primary": [{"key": "name", "label": "MEMBER", "value": "{{ member.name }}"}],
            "secondary": [{"key": "plan", "label": "PLAN", "value": "{{ plan }}"}],
            "auxiliary": [{"key": "club", "label": "CLUB", "value": "Soho"}],
        },
        "barcode": {"format": "aztec", "message": "{{ member.id }}"},
        "localizations": {"es": {"PLAN": "PLAN", "MEMBER": "SOCIO"}, "ar": {"MEMBER": "العضو"}},
    }


def generic_data(i: int) -> dict[str, Any]:
    name = f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}"
    return {"member": {"name": name, "id": f"G-{i:07d}"}, "plan": ("Basic", "Premium")[i % 2]}


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    style: PassStyle
    design: TemplateDesign
    data: Callable[[int], dict[str, Any]]

    @property
    def vertical(self) -> Vertical:
        return vertical_for(
            self.style, gift_card=self.design.gift_card, transit_type=self.design.transit_type
        )

    @property
    def class_id(self) -> str:
        return f"{ISSUER}.tpl_{self.name}.v1"

    def render_class(self) -> dict[str, Any]:
        return render_class(
            self.design,
            self.style,
            issuer_id=ISSUER,
            class_id=self.class_id,
            image_urls=IMAGE_URLS,
        )

    def render_object(self, i: int, data: dict[str, Any] | None = None) -> dict[str, Any]:
        return render_object(
            self.design,
            self.style,
            self.data(i) if data is None else data,
            issuer_id=ISSUER,
            class_id=self.class_id,
            object_id=f"{ISSUER}.pass_{self.name}_{i:08d}",
            serial_number=f"SN-{i:08d}",
            image_urls=IMAGE_URLS,
            voided=False,
            now=NOW,
        )


def cases() -> list[Case]:
    return [
        Case("loyalty", PassStyle.STORE_CARD, parse_design(loyalty()), loyalty_data),
        Case("offer", PassStyle.COUPON, parse_design(offer()), offer_data),
        Case("gift_card", PassStyle.STORE_CARD, parse_design(gift_card()), gift_card_data),
        Case("event", PassStyle.EVENT_TICKET, parse_design(event_ticket()), event_ticket_data),
        Case("flight", PassStyle.BOARDING_PASS, parse_design(flight()), trip_data),
        Case("transit", PassStyle.BOARDING_PASS, parse_design(transit()), trip_data),
        Case("generic", PassStyle.GENERIC, parse_design(generic()), generic_data),
    ]


# -- the signing key ------------------------------------------------------------------------


class TimedKey(rsa.RSAPrivateKey):
    """An RSA key that adds up the seconds spent in :meth:`sign` (and delegates the rest)."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key
        self.seconds = 0.0

    def sign(
        self,
        data: bytes,
        padding: AsymmetricPadding,
        algorithm: asym_utils.Prehashed | hashes.HashAlgorithm | asym_utils.NoDigestInfo,
    ) -> bytes:
        start = time.perf_counter()
        signature = self._key.sign(data, padding, algorithm)
        self.seconds += time.perf_counter() - start
        return signature

    def decrypt(self, ciphertext: bytes, padding: AsymmetricPadding) -> bytes:
        return self._key.decrypt(ciphertext, padding)

    @property
    def key_size(self) -> int:
        return self._key.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        return self._key.private_numbers()

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        return self._key.private_bytes(encoding, format, encryption_algorithm)

    def __copy__(self) -> TimedKey:
        return TimedKey(self._key)

    def __deepcopy__(self, memo: dict[Any, Any]) -> TimedKey:
        return TimedKey(copy.deepcopy(self._key, memo))


def account_for(key: rsa.RSAPrivateKey) -> ServiceAccount:
    return ServiceAccount(
        client_email="wallet@passmint-bench.iam.gserviceaccount.com",
        private_key_id="0123456789abcdef0123456789abcdef01234567",
        token_uri="https://oauth2.googleapis.com/token",  # noqa: S106 - a URL
        private_key=key,
    )


def signing_input(token: str) -> bytes:
    """The bytes a JWT's signature covers: ``header.payload``."""
    return token.rpartition(".")[0].encode()


# -- timing ---------------------------------------------------------------------------------

Task = Callable[[int], object]


def run(task: Task, count: int, offset: int = 0) -> float:
    """Seconds for ``count`` calls of ``task`` (with indices from ``offset``)."""
    start = time.perf_counter()
    for i in range(offset, offset + count):
        task(i)
    return time.perf_counter() - start


def calibrate(task: Task, seconds: float) -> int:
    """Warm ``task`` up and return how many calls take about ``seconds``."""
    count = 1
    while True:
        elapsed = run(task, count)
        if elapsed >= 0.02 or count >= 1 << 20:
            return max(3, round(count * seconds / elapsed))
        count *= 4


@dataclass(frozen=True, slots=True)
class Result:
    case: Case
    class_size: int
    object_size: int
    jwt_chars: int
    link_mode: str
    object_jwt_chars: int
    """Length of the save JWT with the object only (once the class is at Google)."""
    rates: dict[str, list[float]]
    """Calls per second of every task, per round."""
    sign_shares: list[float]
    """Per round: the share of the full links' time spent inside RSA ``sign()``."""

    def median(self, name: str) -> float:
        return statistics.median(self.rates[name])

    def spread(self, name: str) -> str:
        rates = self.rates[name]
        return f"[{min(rates):,.0f}–{max(rates):,.0f}]"

    def ratio(self, name: str) -> float:
        """Median over rounds of ``name``/s ÷ raw RS256/s measured in the same round."""
        return statistics.median(
            x / raw for x, raw in zip(self.rates[name], self.rates["raw"], strict=True)
        )


def run_case(case: Case, key: rsa.RSAPrivateKey, rounds: int, seconds: float) -> Result:
    """Rounds of: raw RS256, class renders, object renders, json.dumps, full save links,
    save links at Google's length limit, and new passes (object render + full link)."""
    timed = TimedKey(key)
    account, timed_account = account_for(key), account_for(timed)
    vertical = case.vertical
    class_body = case.render_class()
    data = [case.data(i) for i in range(VARIANTS)]
    bodies = [case.render_object(i, data[i]) for i in range(VARIANTS)]
    sample = save_jwt(
        account,
        objects={vertical: [bodies[0]]},
        classes={vertical: [class_body]},
        origins=ORIGINS,
        issued_at=NOW,
    )
    message = signing_input(sample)
    mode = save_link(
        account, vertical=vertical, object_body=bodies[0], class_body=class_body, issued_at=NOW
    ).mode
    object_only = save_jwt(account, objects={vertical: [bodies[0]]}, origins=ORIGINS, issued_at=NOW)
    pad, digest = padding.PKCS1v15(), hashes.SHA256()

    def link(
        body: dict[str, Any], *, limit: int = 1 << 30, signer: ServiceAccount = account
    ) -> str:
        # A limit above any JWT's length makes save_link keep the full JWT.
        return save_link(
            signer,
            vertical=vertical,
            object_body=body,
            class_body=class_body,
            origins=ORIGINS,
            issued_at=NOW,
            max_length=limit,
        ).url

    tasks: dict[str, Task] = {
        "raw": lambda _: key.sign(message, pad, digest),
        "class": lambda _: case.render_class(),
        "object": lambda i: case.render_object(i, data[i % VARIANTS]),
        "dumps": lambda i: json.dumps(bodies[i % VARIANTS], separators=(",", ":")),
        "full_link": lambda i: link(bodies[i % VARIANTS], signer=timed_account),
        "limit_link": lambda i: link(bodies[i % VARIANTS], limit=MAX_JWT_LENGTH),
        "issue": lambda i: link(case.render_object(i, data[i % VARIANTS])),
    }
    counts = {name: calibrate(task, seconds) for name, task in tasks.items()}  # and warm-up
    rates: dict[str, list[float]] = {name: [] for name in tasks}
    shares: list[float] = []
    for r in range(rounds):
        for name, task in tasks.items():
            signed_before = timed.seconds
            elapsed = run(task, counts[name], r * counts[name])
            rates[name].append(counts[name] / elapsed)
            if name == "full_link":
                shares.append((timed.seconds - signed_before) / elapsed)
    return Result(
        case=case,
        class_size=len(json.dumps(class_body, separators=(",", ":"))),
        object_size=len(json.dumps(bodies[0], separators=(",", ":"))),
        jwt_chars=len(sample),
        link_mode=mode,
        object_jwt_chars=len(object_only),
        rates=rates,
        sign_shares=shares,
    )


# -- report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report_head(res: Result, rounds: int) -> None:
    print(
        f"loyalty design (en + fr + ar, 10 fields, QR code, 3 locations, 3 images, 2 links):\n"
        f"  class {res.class_size:,} B and object {res.object_size:,} B of JSON; "
        f"a save JWT with both is {res.jwt_chars:,} chars\n"
        f"  one process (one core), medians of {rounds} rounds [slowest–fastest round]"
    )
    rows = [
        ("raw", "ceiling: raw RSA-2048 PKCS#1 v1.5 SHA-256 signatures"),
        ("dumps", "floor: json.dumps of the object body"),
        ("class", "class renders"),
        ("object", "object renders"),
        ("full_link", "save links, full JWT (class + object)"),
        ("limit_link", f"save_link() at the {MAX_JWT_LENGTH:,}-char limit ({res.link_mode})"),
        ("issue", "new passes: object render + full save link"),
    ]
    for name, label in rows:
        rate = res.median(name)
        print(f"  {label:<54} {rate:9,.0f} /s  {1e6 / rate:6.1f} µs  {res.spread(name):>17}")
    share = statistics.median(res.sign_shares)
    link_us = 1e6 / res.median("full_link")
    print(
        f"  full save links = {res.ratio('full_link'):.1%} of the raw RS256 ceiling\n"
        f"  RSA sign() takes {share:.1%} of a full link's time; the rest is "
        f"≈ {link_us * (1 - share):.0f} µs of JSON and base64"
    )
    print(
        f"  save_link() at the limit = {res.ratio('limit_link'):.1%} of the ceiling; "
        f"new passes = {res.ratio('issue'):.1%}"
    )
    print(
        f"  an object render costs {res.median('dumps') / res.median('object'):.1f}× a json.dumps"
    )
    if res.link_mode != "full":
        print(
            f"  the full JWT is over Google's {MAX_JWT_LENGTH:,}-char limit for links (and so is "
            f"the object alone: {res.object_jwt_chars:,}),\n  so save_link() signs only a "
            "reference JWT (the length is known before signing)"
        )


def report_verticals(results: list[Result], rounds: int) -> None:
    print(
        f"\nper vertical (medians of {rounds} rounds; % = links/s ÷ raw RS256/s in the same round;"
        f"\n  JWT chars with class + object / with the object only, both over {MAX_JWT_LENGTH:,}"
        " → save_link() signs a reference)"
    )
    print(
        f"  {'vertical':<12}{'class/s':>8}{'object/s':>9}{'obj÷dumps':>10}{'raw/s':>7}"
        f"{'full links/s':>13}{'%':>5}{'at limit/s':>11}{'%':>5}{'JWT chars':>17}"
    )
    for res in results:
        over = min(res.jwt_chars, res.object_jwt_chars) > MAX_JWT_LENGTH
        chars = f"{res.jwt_chars:,} / {res.object_jwt_chars:,}{'' if over else ' *'}"
        print(
            f"  {res.case.vertical.value:<12}{res.median('class'):8,.0f}"
            f"{res.median('object'):9,.0f}"
            f"{res.median('dumps') / res.median('object'):9.1f}×{res.median('raw'):7,.0f}"
            f"{res.median('full_link'):13,.0f}{res.ratio('full_link'):5.0%}"
            f"{res.median('limit_link'):11,.0f}{res.ratio('limit_link'):5.0%}{chars:>17}"
        )
    if not all(min(r.jwt_chars, r.object_jwt_chars) > MAX_JWT_LENGTH for r in results):
        print(f"  * a JWT fits in {MAX_JWT_LENGTH:,} chars: save_link() signs it once")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7, help="rounds for the loyalty design")
    parser.add_argument("--seconds", type=float, default=0.12, help="seconds per task per round")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # throwaway
    all_cases = cases()
    head = run_case(all_cases[0], key, args.rounds, args.seconds)
    report_head(head, args.rounds)
    rounds = max(3, args.rounds - 2)
    others = [run_case(case, key, rounds, args.seconds / 2.5) for case in all_cases[1:]]
    report_verticals([head, *others], rounds)

    print("\nrounds, loyalty (per second):")
    for name, rates in head.rates.items():
        print(f"  {name:<10} {[round(x) for x in rates]}")
    ratio, objects = head.ratio("full_link"), head.median("object")
    links_ok, objects_ok = ratio >= TARGET_LINK_RATIO, objects >= TARGET_OBJECTS
    print(
        f"{verdict(links_ok)}: full save links {head.median('full_link'):,.0f}/s = {ratio:.1%} "
        f"of the raw RS256 ceiling (target ≥ {TARGET_LINK_RATIO:.0%})"
    )
    print(
        f"{verdict(objects_ok)}: loyalty object renders {objects:,.0f}/s "
        f"(target ≥ {TARGET_OBJECTS:,}/s)"
    )
    print(f"({time.perf_counter() - started:.1f} s)")
    return 1 if args.check and not (links_ok and objects_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
