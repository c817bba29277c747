"""The pages a browser meets outside the admin app, in Debian's chromium against a real
server: the home page, a card link that is not valid, a pass's landing page and the API
documentation, at desktop and phone width, in English and in Arabic (right to left).

Each page loads without a console error, a CSP violation or a request to another host and
passes axe-core with no serious or critical violation (also checked for every registered
screen by test_screens.py); here, what each page shows and does.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.ui.browser import UiPage
from tests.ui.screens import screen

RTL = {"ar"}


def check_language(ui: UiPage) -> None:
    html = ui.page.locator("html")
    assert html.get_attribute("lang") == ui.locale
    assert html.get_attribute("dir") == ("rtl" if ui.locale in RTL else "ltr")


def test_the_home_page_links_to_the_api_documentation_by_keyboard(ui_page: UiPage) -> None:
    ui_page.goto("/")
    check_language(ui_page)
    ui_page.page.keyboard.press("Tab")
    focused = ui_page.page.locator(":focus")
    assert focused.get_attribute("href") == "/docs"
    text = "API documentation" if ui_page.locale == "en" else "توثيق واجهة البرمجة (API)"
    assert focused.inner_text() == text
    ui_page.page.keyboard.press("Enter")
    ui_page.page.wait_for_url("**/docs", wait_until="networkidle")
    ui_page.page.get_by_role("button", name="Authorize").wait_for()
    ui_page.assert_clean()


def test_a_card_link_that_is_not_valid_says_so_in_the_visitors_language(
    ui_page: UiPage,
) -> None:
    ui_page.goto(screen("card-link-invalid").url_path(ui_page.server), status=404)
    check_language(ui_page)
    heading = ui_page.page.get_by_role("heading", level=1).inner_text()
    assert (
        heading
        == {
            "en": "This card link is not valid",
            "ar": "رابط البطاقة هذا غير صالح",
        }[ui_page.locale]
    )


def test_the_landing_page_offers_a_desktop_both_wallets_and_a_phone_its_own(
    ui_page: UiPage,
) -> None:
    token = ui_page.server.values()["pass_token"]
    ui_page.goto(f"/p/{token}")
    check_language(ui_page)
    page = ui_page.page
    assert page.get_by_role("heading", level=1).inner_text() == "Café Lumen"
    links = page.locator("nav a")
    if ui_page.width == "desktop":
        # the demo tenant has Apple credentials and no Google issuer: the Apple button, and
        # a QR code of this page to open it on a phone
        assert links.evaluate_all("links => links.map(a => a.dataset.wallet)") == ["apple"]
        assert page.locator("figure.qr svg").is_visible()
        assert page.locator("figure.qr").get_attribute("data-qr") == page.url
    else:  # an Android phone without Google Wallet for this tenant: the pass file
        assert links.evaluate_all("links => links.map(a => a.dataset.wallet)") == ["file"]
        assert page.locator("figure.qr").count() == 0
    download = urlsplit(links.first.get_attribute("href") or "")
    assert download.netloc == ui_page.server.host
    assert download.path == f"/p/{token}.pkpass"
    box, viewport = links.first.bounding_box(), page.viewport_size
    assert box is not None
    assert viewport is not None
    assert box["height"] >= 44  # a touch target a thumb hits
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= viewport["width"]


def test_the_api_documentation_renders_from_this_server(desktop_page: UiPage) -> None:
    desktop_page.goto("/docs")
    page = desktop_page.page
    assert "passmint" in page.locator(".info .title").inner_text()
    assert page.locator(".opblock").count() > 20  # every operation of the OpenAPI document


def test_the_api_documentation_keeps_its_contrast_while_it_is_used(phone_page: UiPage) -> None:
    """Swagger UI's own colours fail WCAG contrast; passmint's stylesheet darkens them, on
    the states a reader opens too: an operation tried out, the Authorize dialog."""
    phone_page.goto("/docs")
    page = phone_page.page
    operation = page.locator(".opblock-post").first
    operation.locator(".opblock-summary-control").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").wait_for()
    phone_page.assert_accessible(only_rules=("color-contrast",))
    page.get_by_role("button", name="Authorize").first.click()
    page.locator(".modal-ux").wait_for()
    phone_page.assert_accessible(only_rules=("color-contrast",))
    phone_page.assert_clean()
