"""The pass landing page: one link per pass that offers the right wallet.

* iPhone (and iPad, Mac Safari is a desktop): "Add to Apple Wallet" (the signed .pkpass);
* Android: "Save to Google Wallet" (the save link), with the .pkpass as a fallback only
  when the tenant has no Google issuer;
* desktop: both buttons and a QR code of this page, to open it on a phone.

A pass of a tenant that issues to Google Wallet only (no Apple credentials) has no .pkpass:
every platform gets the Google Wallet button and no Apple one.

Texts follow ``Accept-Language`` (the first supported language wins; right-to-left
languages set ``dir="rtl"``). Pure: the caller passes what the page shows.
"""

from __future__ import annotations

import base64
import hashlib
import html
from dataclasses import dataclass
from typing import Final

import segno

from passmint.kit.acceptlanguage import ranked_tags
from passmint.kit.useragent import parse_user_agent

RTL: Final = frozenset({"ar", "he", "fa", "ur"})

TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "title": "Your pass",
        "apple": "Add to Apple Wallet",
        "google": "Save to Google Wallet",
        "scan": "Scan with your phone to add the pass to its wallet.",
        "pkpass": "Download the pass file",
        "voided": "This pass is no longer valid.",
    },
    "de": {
        "title": "Ihr Pass",
        "apple": "Zu Apple Wallet hinzufügen",
        "google": "In Google Wallet speichern",
        "scan": "Scannen Sie den Code mit Ihrem Telefon, um den Pass hinzuzufügen.",
        "pkpass": "Pass-Datei herunterladen",
        "voided": "Dieser Pass ist nicht mehr gültig.",
    },
    "fr": {
        "title": "Votre carte",
        "apple": "Ajouter à Apple Wallet",
        "google": "Enregistrer dans Google Wallet",
        "scan": "Scannez avec votre téléphone pour ajouter la carte à son portefeuille.",
        "pkpass": "Télécharger le fichier",
        "voided": "Cette carte n'est plus valable.",
    },
    "es": {
        "title": "Tu pase",
        "apple": "Añadir a Apple Wallet",
        "google": "Guardar en Google Wallet",
        "scan": "Escanea con tu teléfono para añadir el pase a su cartera.",
        "pkpass": "Descargar el archivo",
        "voided": "Este pase ya no es válido.",
    },
    "ar": {
        "title": "بطاقتك",
        "apple": "إضافة إلى Apple Wallet",
        "google": "الحفظ في Google Wallet",
        "scan": "امسح الرمز بهاتفك لإضافة البطاقة إلى المحفظة.",
        "pkpass": "تنزيل ملف البطاقة",
        "voided": "لم تعد هذه البطاقة صالحة.",
    },
    "he": {
        "title": "הכרטיס שלך",
        "apple": "הוספה ל-Apple Wallet",
        "google": "שמירה ב-Google Wallet",
        "scan": "סרקו בטלפון כדי להוסיף את הכרטיס לארנק.",
        "pkpass": "הורדת קובץ הכרטיס",
        "voided": "הכרטיס הזה אינו בתוקף עוד.",
    },
}


def language(accept_language: str | None) -> str:
    """The first language of ``Accept-Language`` (by q-value) that the page speaks."""
    for tag in ranked_tags(accept_language):
        lang = tag.split("-")[0].lower()
        if lang in TEXTS:
            return lang
    return "en"


@dataclass(frozen=True)
class Landing:
    page_url: str
    pkpass_url: str | None  # None: not an Apple pass (Google Wallet only)
    google_url: str | None
    organization: str
    description: str
    background: str | None
    foreground: str | None
    voided: bool


def qr_svg(url: str) -> str:
    """An inline SVG QR code of ``url`` (error correction M, dark modules on white)."""
    code = segno.make_qr(url, error="m")
    return str(code.svg_inline(scale=5, border=2, dark="#000", light="#fff"))


def render(landing: Landing, *, user_agent: str | None, accept_language: str | None) -> str:
    lang = language(accept_language)
    text = TEXTS[lang]
    platform = parse_user_agent(user_agent).platform
    esc = html.escape
    buttons: list[str] = []
    apple = (
        f'<a class="btn apple" data-wallet="apple" href="{esc(landing.pkpass_url)}">'
        f"{esc(text['apple'])}</a>"
        if landing.pkpass_url
        else ""
    )
    pkpass_file = (
        f'<a class="btn" data-wallet="file" href="{esc(landing.pkpass_url)}">'
        f"{esc(text['pkpass'])}</a>"
        if landing.pkpass_url
        else ""
    )
    google = (
        f'<a class="btn google" data-wallet="google" href="{esc(landing.google_url)}">'
        f"{esc(text['google'])}</a>"
        if landing.google_url
        else ""
    )
    qr = ""
    if landing.voided:
        buttons.append(f'<p class="voided">{esc(text["voided"])}</p>')
    elif platform == "ios":
        buttons.append(apple or google)
    elif platform == "android":
        buttons.append(google or pkpass_file)
    else:
        buttons.extend(b for b in (apple, google) if b)
        qr = (
            f'<figure class="qr" data-qr="{esc(landing.page_url)}">{qr_svg(landing.page_url)}'
            f"<figcaption>{esc(text['scan'])}</figcaption></figure>"
        )
    background = landing.background or "#ffffff"
    foreground = landing.foreground or "#111111"
    direction = "rtl" if lang in RTL else "ltr"
    return (
        f'<!doctype html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{esc(landing.organization or text['title'])}</title><style>"
        "body{margin:0;font-family:system-ui,sans-serif;background:#f4f4f5}"
        "main{max-width:28rem;margin:0 auto;padding:2rem 1rem;text-align:center}"
        f".card{{background:{esc(background)};color:{esc(foreground)};border-radius:1rem;"
        "padding:1.5rem;margin-bottom:1.5rem}"
        ".btn{display:block;margin:.75rem auto;padding:.9rem 1.2rem;border-radius:.7rem;"
        "background:#000;color:#fff;text-decoration:none;font-weight:600;max-width:20rem}"
        ".google{background:#1f1f1f}.qr svg{width:12rem;height:12rem}"
        ".voided{color:#b91c1c;font-weight:600}"
        "</style></head><body><main>"
        f'<section class="card"><h1>{esc(landing.organization or text["title"])}</h1>'
        f"<p>{esc(landing.description)}</p></section>"
        f'<nav data-platform="{esc(platform)}">{"".join(buttons)}</nav>{qr}'
        "</main></body></html>"
    )


def security_headers(page: str) -> dict[str, str]:
    """The landing page's headers: its one stylesheet allowed by hash (its colours are the
    pass's), nothing else loaded, and no Referer carrying the page's secret URL away."""
    start = page.index("<style>") + len("<style>")
    style = page[start : page.index("</style>", start)]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'self' data:; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
