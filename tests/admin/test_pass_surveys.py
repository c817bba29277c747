"""Survey answers on the admin app's pass page (issue 14): the customer's current answer to
each survey, and every tap in the pass's history, as text; taps made in a browser that
holds a staff session are still the customer's, not the staff's audit log's."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from passmint.models import AuditEvent
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki
from tests.admin.conftest import AdminClient, Team
from tests.admin.wallets import issue_passes
from tests.service.test_surveys import set_survey, token_of

pytestmark = pytest.mark.anyio


async def audit_count(runtime: Runtime) -> int:
    async with runtime.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


async def test_the_pass_page_shows_the_answers_and_their_history(
    owner: AdminClient, team: Team, dev_pki: DevPki, runtime: Runtime
) -> None:
    (issued,) = await issue_passes(owner.http, team.api_key, dev_pki)
    template_id = (
        await owner.http.get(
            f"/api/v1/passes/{issued['id']}", headers={"Authorization": f"Bearer {team.api_key}"}
        )
    ).json()["template_id"]
    page = await owner.get(f"/admin/passes/{issued['id']}")
    assert "Survey answers" not in page.text  # nothing answered: no section

    await set_survey(
        runtime,
        template_id,
        {"question": "<b>How</b> was it, {{ name }}?", "answers": ["Great", "Not good"]},
    )
    audited = await audit_count(runtime)
    tap = f"/p/{token_of(issued)}/answers"
    assert (await owner.http.get(f"{tap}/2", headers={"Accept": "text/html"})).status_code == 200
    assert (await owner.http.get(f"{tap}/1", headers={"Accept": "text/html"})).status_code == 200
    assert await audit_count(runtime) == audited  # the staff's session cookie went along
    # The answers outlive the survey (and the page reads the design with the schema, which
    # may not know ``survey`` yet where this runs).
    await set_survey(runtime, template_id, None)

    page = await owner.get(f"/admin/passes/{issued['id']}")
    assert page.status_code == 200
    assert "&lt;b&gt;How&lt;/b&gt; was it, Guest 0?" in page.text
    text = html.unescape(page.text)
    answers = text[text.index('id="survey-heading"') : text.index('id="history-heading"')]
    assert "Great" in answers
    assert "Not good" not in answers  # replaced
    assert "answered " in answers
    history = text[text.index('id="history-heading"') :]
    order = [
        history.index("Survey answer to “<b>How</b> was it, Guest 0?” changed to: Great"),
        history.index("Survey answer to “<b>How</b> was it, Guest 0?”: Not good"),
        history.index("Issued with version 1 of its design"),
    ]
    assert order == sorted(order)  # newest first

    arabic = await owner.get(f"/admin/passes/{issued['id']}", headers={"Accept-Language": "ar"})
    assert "إجابات الاستبيان" in arabic.text
    assert "تغيّرت الإجابة على الاستبيان" in html.unescape(arabic.text)
