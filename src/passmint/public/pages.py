"""The few pages a browser meets outside a pass's landing page: the server's home page, the
error pages (a card link that is not valid, an unknown address, a failure) and the thank-you
page of a survey answer.

Self-contained HTML: no script, one inline stylesheet allowed by its hash in a
``default-src 'none'`` Content-Security-Policy. Texts follow ``Accept-Language`` with the
landing page's negotiation and languages. Pure: the caller passes what the page links to.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Sequence
from enum import StrEnum
from typing import Final

from passmint.kit.acceptlanguage import ranked_tags
from passmint.public.landing import RTL, language


class Page(StrEnum):
    HOME = "home"
    CARD_LINK_INVALID = "card_link_invalid"
    NOT_FOUND = "not_found"
    ERROR = "error"
    ANSWER_UNAVAILABLE = "answer_unavailable"
    """A survey answer that is not on the pass's survey (any more)."""


TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "home": "passmint",
        "home_body": "passmint issues Apple Wallet and Google Wallet passes and runs the loyalty "
        "programs behind them.",
        "docs": "API documentation",
        "card_link_invalid": "This card link is not valid",
        "card_link_invalid_body": "Check that you opened the whole link, or ask the business "
        "that sent it for a new one.",
        "not_found": "Page not found",
        "not_found_body": "There is nothing at this address.",
        "error": "This page could not be shown",
        "error_body": "Please try again in a moment.",
        "answer_unavailable": "This answer cannot be recorded",
        "answer_unavailable_body": "The survey may have changed or closed. Thank you all the same.",
        "answered": "Thank you",
        "your_answer": "Your answer: {answer}",
        "change_answer": "Change my answer",
    },
    "de": {
        "home": "passmint",
        "home_body": "passmint stellt Pässe für Apple Wallet und Google Wallet aus und betreibt "
        "die Treueprogramme dahinter.",
        "docs": "API-Dokumentation",
        "card_link_invalid": "Dieser Kartenlink ist ungültig",
        "card_link_invalid_body": "Prüfen Sie, ob Sie den vollständigen Link geöffnet haben, "
        "oder bitten Sie das Unternehmen, das ihn gesendet hat, um einen neuen.",
        "not_found": "Seite nicht gefunden",
        "not_found_body": "Unter dieser Adresse gibt es nichts.",
        "error": "Diese Seite kann nicht angezeigt werden",
        "error_body": "Bitte versuchen Sie es gleich noch einmal.",
        "answer_unavailable": "Diese Antwort kann nicht gespeichert werden",
        "answer_unavailable_body": "Die Umfrage wurde vielleicht geändert oder beendet. "
        "Trotzdem vielen Dank.",
        "answered": "Vielen Dank",
        "your_answer": "Ihre Antwort: {answer}",
        "change_answer": "Meine Antwort ändern",
    },
    "fr": {
        "home": "passmint",
        "home_body": "passmint émet des cartes Apple Wallet et Google Wallet et gère les "
        "programmes de fidélité qui les accompagnent.",
        "docs": "Documentation de l'API",
        "card_link_invalid": "Ce lien de carte n'est pas valide",
        "card_link_invalid_body": "Vérifiez que vous avez ouvert le lien en entier, ou "
        "demandez-en un nouveau à l'entreprise qui vous l'a envoyé.",
        "not_found": "Page introuvable",
        "not_found_body": "Il n'y a rien à cette adresse.",
        "error": "Cette page ne peut pas être affichée",
        "error_body": "Veuillez réessayer dans un instant.",
        "answer_unavailable": "Cette réponse ne peut pas être enregistrée",
        "answer_unavailable_body": "Le sondage a peut-être changé ou pris fin. Merci quand même.",
        "answered": "Merci",
        "your_answer": "Votre réponse\u00a0: {answer}",
        "change_answer": "Modifier ma réponse",
    },
    "es": {
        "home": "passmint",
        "home_body": "passmint emite pases de Apple Wallet y Google Wallet y gestiona los "
        "programas de fidelización que hay detrás.",
        "docs": "Documentación de la API",
        "card_link_invalid": "Este enlace de tarjeta no es válido",
        "card_link_invalid_body": "Comprueba que has abierto el enlace completo o pide uno "
        "nuevo a la empresa que te lo envió.",
        "not_found": "Página no encontrada",
        "not_found_body": "No hay nada en esta dirección.",
        "error": "No se puede mostrar esta página",
        "error_body": "Vuelve a intentarlo en un momento.",
        "answer_unavailable": "No se puede registrar esta respuesta",
        "answer_unavailable_body": "Puede que la encuesta haya cambiado o terminado. Gracias "
        "de todos modos.",
        "answered": "Gracias",
        "your_answer": "Tu respuesta: {answer}",
        "change_answer": "Cambiar mi respuesta",
    },
    "ar": {
        "home": "passmint",
        "home_body": "يُصدر passmint بطاقات Apple Wallet وGoogle Wallet ويدير برامج الولاء "
        "المرتبطة بها.",
        "docs": "توثيق واجهة البرمجة (API)",
        "card_link_invalid": "رابط البطاقة هذا غير صالح",
        "card_link_invalid_body": "تأكد من أنك فتحت الرابط كاملًا، أو اطلب رابطًا جديدًا من "
        "الجهة التي أرسلته.",
        "not_found": "الصفحة غير موجودة",
        "not_found_body": "لا يوجد شيء على هذا العنوان.",
        "error": "تعذّر عرض هذه الصفحة",
        "error_body": "يُرجى المحاولة مرة أخرى بعد قليل.",
        "answer_unavailable": "تعذّر تسجيل هذه الإجابة",
        "answer_unavailable_body": "ربما تغيّر الاستبيان أو انتهى. شكرًا لك على أي حال.",
        "answered": "شكرًا لك",
        "your_answer": "إجابتك: {answer}",
        "change_answer": "تغيير إجابتي",
    },
    "he": {
        "home": "passmint",
        "home_body": "passmint מנפיק כרטיסים ל-Apple Wallet ול-Google Wallet ומפעיל את "
        "מועדוני הלקוחות שמאחוריהם.",
        "docs": "תיעוד ה-API",
        "card_link_invalid": "הקישור לכרטיס אינו תקין",
        "card_link_invalid_body": "ודאו שפתחתם את הקישור המלא, או בקשו קישור חדש מהעסק ששלח אותו.",
        "not_found": "הדף לא נמצא",
        "not_found_body": "אין כלום בכתובת הזו.",
        "error": "לא ניתן להציג את הדף",
        "error_body": "נסו שוב בעוד רגע.",
        "answer_unavailable": "לא ניתן לרשום את התשובה הזו",
        "answer_unavailable_body": "ייתכן שהסקר השתנה או הסתיים. תודה בכל זאת.",
        "answered": "תודה",
        "your_answer": "התשובה שלך: {answer}",
        "change_answer": "שינוי התשובה שלי",
    },
}

STYLE: Final = (
    ":root{color-scheme:light dark}"
    "body{margin:0;font:1.0625rem/1.5 system-ui,sans-serif;background:#f4f4f5;color:#18181b}"
    "main{max-width:34rem;margin:0 auto;padding:2.5rem 1.25rem}"
    "h1{font-size:1.5rem;line-height:1.25;margin:0 0 .75rem}"
    "h2{font-size:1.125rem;margin:1.75rem 0 0}"
    "a{color:#0b57d0}a:focus-visible{outline:3px solid currentColor;outline-offset:2px}"
    "ul{list-style:none;padding:0}li a{display:inline-block;padding:.6rem 0;font-weight:600}"
    "@media (prefers-color-scheme:dark){body{background:#18181b;color:#f4f4f5}"
    "a{color:#8ab4f8}}"
)
_STYLE_HASH: Final = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

HEADERS: Final[dict[str, str]] = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a pass link's token must not leave in a Referer
    "Cache-Control": "no-store",
    "Vary": "Accept, Accept-Language",
}
"""The headers every page goes out with."""


def render(
    page: Page, *, accept_language: str | None, links: Sequence[tuple[str, str]] = ()
) -> str:
    """The page in the visitor's language; ``links`` are (text key, URL) pairs listed under
    the text, e.g. ``("docs", "/docs")``."""
    lang = _page_language(accept_language)
    text = TEXTS[lang]
    esc = html.escape
    items = "".join(f'<li><a href="{esc(url)}">{esc(text[key])}</a></li>' for key, url in links)
    return _document(
        lang,
        text[page.value],
        f"<p>{esc(text[page.value + '_body'])}</p>"
        + (f"<nav><ul>{items}</ul></nav>" if items else ""),
    )


def render_answered(
    *,
    accept_language: str | None,
    question: str,
    answer: str,
    others: Sequence[tuple[str, str]],
) -> str:
    """The thank-you page of a survey answer: the question, the answer given, and the other
    answers (``others``: (answer, URL) pairs) to change it. Question and answers are the
    business's texts (in whichever language the design had for the visitor): escaped, and
    each in its own direction (``dir="auto"``, ``<bdi>``) whatever the page's."""
    lang = _page_language(accept_language)
    text = TEXTS[lang]
    esc = html.escape
    before, _, after = text["your_answer"].partition("{answer}")
    items = "".join(
        f'<li><a href="{esc(url)}" rel="nofollow" dir="auto">{esc(label)}</a></li>'
        for label, url in others
    )
    change = (
        f'<nav aria-labelledby="change"><h2 id="change">{esc(text["change_answer"])}</h2>'
        f"<ul>{items}</ul></nav>"
        if items
        else ""
    )
    return _document(
        lang,
        text["answered"],
        f'<p dir="auto">{esc(question)}</p>'
        f"<p>{esc(before)}<strong><bdi>{esc(answer)}</bdi></strong>{esc(after)}</p>" + change,
    )


def preferred_language(accept_language: str | None) -> str | None:
    """The visitor's first language tag by ``Accept-Language`` quality (``fr-CA``), whether
    or not these pages speak it: a design may have its translations (``*`` and malformed
    tags are skipped)."""
    tags = ranked_tags(accept_language)
    return tags[0] if tags else None


def _page_language(accept_language: str | None) -> str:
    lang = language(accept_language)
    return lang if lang in TEXTS else "en"  # a language the landing page speaks, not these


def _document(lang: str, title: str, body: str) -> str:
    esc = html.escape
    return (
        f'<!doctype html><html lang="{lang}" dir="{"rtl" if lang in RTL else "ltr"}"><head>'
        '<meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body><main>"
        f"<h1>{esc(title)}</h1>{body}</main></body></html>"
    )
