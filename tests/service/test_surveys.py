"""Survey answers (issue 14: answer buttons on the back of a pass), the service side on
SQLite and PostgreSQL: an answer is recorded, replaced when the customer changes their
mind, unchanged by the same answer again, counted for the designer, in the visitor's
language; designs without a survey and numbers it does not have are refused; two taps at
once leave one answer; the audit log, which records staff and API keys, is left alone."""

from __future__ import annotations

import asyncio
import copy
import io
import json
import re
import uuid
import zipfile
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from passmint.kit.sql import is_postgresql
from passmint.models import AuditEvent, Event, Pass, SurveyAnswer, Template, TemplateVersion
from passmint.passes import surveys
from passmint.passes import surveys_repository as answers_repository
from passmint.passes.errors import TemplateNotFound
from passmint.passes.surveys import AnswerCount, Answered, SurveyResults
from passmint.runtime import Runtime
from passmint.tenants import audit
from passmint.wallet.apple.devpki import DevPki
from tests.service.conftest import auth, cafe_design, put_apple_credentials

pytestmark = pytest.mark.anyio

QUESTION = "How was your visit, {{ name }}?"
SURVEY: dict[str, Any] = {"question": QUESTION, "answers": ["Great", "OK", "Not good"]}
TRANSLATIONS: dict[str, dict[str, str]] = {
    "fr": {
        QUESTION: "Comment s'est passée votre visite, {{ name }} ?",
        "Great": "Super",
        "OK": "Correcte",
        "Not good": "Décevante",
    },
    "ar": {
        QUESTION: "كيف كانت زيارتك يا {{ name }}؟",
        "Great": "رائعة",
        "OK": "مقبولة",
        "Not good": "ليست جيدة",
    },
    "fi": {
        QUESTION: "Millainen käyntisi oli, {{ name }}?",
        "Great": "Loistava",
        "OK": "Ihan hyvä",
        "Not good": "Huono",
    },
}


async def set_survey(runtime: Runtime, template_id: str, survey: dict[str, Any] | None) -> None:
    """Write ``survey`` into the stored JSON of every version of the template (None: take
    it out), as a design saved with it would hold it."""
    async with runtime.transaction() as session:
        versions = await session.execute(
            select(TemplateVersion).where(TemplateVersion.template_id == uuid.UUID(template_id))
        )
        for version in versions.scalars():
            design = copy.deepcopy(version.design)
            if survey is None:
                design.pop("survey", None)
            else:
                design["survey"] = survey
            version.design = design


async def issue_with_survey(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    pki: DevPki,
    *,
    count: int = 1,
    survey: dict[str, Any] | None = SURVEY,
    names: tuple[str, ...] = ("Ada", "Grace", "Edsger", "Barbara"),
) -> list[dict[str, Any]]:
    """A template whose design has ``survey`` (and translations of it), made through the
    API, and ``count`` passes of it, each with ``template_id``."""
    key = tenant["api_key"]
    await put_apple_credentials(client, key, pki)
    design = await cafe_design(client, key)
    for lang, table in TRANSLATIONS.items():
        design["localizations"] = {
            **design["localizations"],
            lang: {**design["localizations"].get(lang, {}), **table},
        }
    if survey is not None:
        design["survey"] = survey
    template = await client.post(
        "/api/v1/templates",
        headers=auth(key),
        json={"name": "Visits", "style": "storeCard", "design": design},
    )
    assert template.status_code == 201, template.text
    template_id = template.json()["id"]
    issued = []
    for index in range(count):
        made = await client.post(
            "/api/v1/passes",
            headers=auth(key),
            json={
                "template_id": template_id,
                "data": {"points": 10, "tier": "Silver", "name": names[index % len(names)]},
            },
        )
        assert made.status_code == 201, made.text
        issued.append({**made.json(), "template_id": template_id})
    return issued


def token_of(issued: dict[str, Any]) -> str:
    return str(issued["urls"]["landing"]).rsplit("/", 1)[1]


async def tap(
    runtime: Runtime, issued: dict[str, Any], number: int, language: str | None = None
) -> Answered:
    """A customer's tap on answer ``number`` of the pass, as the public page makes it."""
    async with runtime.transaction() as session:
        pass_ = await session.get(Pass, uuid.UUID(issued["id"]))
        assert pass_ is not None
        ctx = runtime.pass_context(session, pass_.tenant_id)
        return await surveys.answer(ctx, pass_, number, language)


async def results(runtime: Runtime, tenant: dict[str, str], template_id: str) -> list[Any]:
    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, uuid.UUID(tenant["tenant_id"]))
        return list(await surveys.results(ctx, uuid.UUID(template_id)))


async def stored_answers(runtime: Runtime, pass_id: str) -> list[SurveyAnswer]:
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            select(SurveyAnswer).where(SurveyAnswer.pass_id == uuid.UUID(pass_id))
        )
        return list(rows.scalars())


async def survey_events(runtime: Runtime, pass_id: str) -> list[dict[str, Any]]:
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            select(Event.data)
            .where(Event.pass_id == uuid.UUID(pass_id), Event.kind == "survey_answered")
            .order_by(Event.created_at, Event.id)
        )
        return [dict(data) for data in rows.scalars()]


async def test_an_answer_is_recorded_changed_and_not_recorded_twice(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    (issued,) = await issue_with_survey(client, runtime, tenant, dev_pki)
    first = await tap(runtime, issued, 1)
    assert first == Answered(
        "survey", 1, "How was your visit, Ada?", ("Great", "OK", "Not good"), True
    )
    assert first.answer == "Great"
    (row,) = await stored_answers(runtime, issued["id"])
    assert (row.survey_key, row.answer_number, row.question, row.answer_text) == (
        "survey",
        1,
        "How was your visit, Ada?",
        "Great",
    )
    assert str(row.template_id) == issued["template_id"]
    assert str(row.tenant_id) == tenant["tenant_id"]
    answered_at = row.answered_at

    again = await tap(runtime, issued, 1)  # the same answer: nothing changes
    assert not again.changed
    (same,) = await stored_answers(runtime, issued["id"])
    assert (same.id, same.answered_at) == (row.id, answered_at)

    changed = await tap(runtime, issued, 3)  # a changed mind replaces the answer
    assert changed.changed
    assert changed.answer == "Not good"
    (replaced,) = await stored_answers(runtime, issued["id"])
    assert (replaced.id, replaced.answer_number, replaced.answer_text) == (row.id, 3, "Not good")

    events = await survey_events(runtime, issued["id"])
    assert [(e["number"], e["answer"], e["previous"]) for e in events] == [
        (1, "Great", None),
        (3, "Not good", 1),
    ]
    assert events[0]["survey_key"] == "survey"
    assert events[0]["question"] == "How was your visit, Ada?"


async def test_answers_are_counted_for_the_designer(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    passes = await issue_with_survey(client, runtime, tenant, dev_pki, count=4)
    template_id = passes[0]["template_id"]
    assert await results(runtime, tenant, template_id) == [
        SurveyResults(
            "survey",
            QUESTION,
            [AnswerCount(1, "Great", 0), AnswerCount(2, "OK", 0), AnswerCount(3, "Not good", 0)],
        )
    ]
    for issued, number in zip(passes, (1, 1, 2, 1), strict=True):
        await tap(runtime, issued, number)
    await tap(runtime, passes[3], 3)  # changed: its earlier answer is no longer counted
    await tap(runtime, passes[0], 1)  # the same again: counted once
    (counted,) = await results(runtime, tenant, template_id)
    assert counted.answers == [
        AnswerCount(1, "Great", 2),
        AnswerCount(2, "OK", 1),
        AnswerCount(3, "Not good", 1),
    ]
    assert counted.total == 4
    key, question, answers = counted  # a plain (key, question, answers) tuple too
    assert (key, question, answers[0]) == ("survey", QUESTION, (1, "Great", 2))

    # A new survey (another key): the old one's answers stay, named as customers read them.
    await set_survey(
        runtime,
        template_id,
        {"key": "staff", "question": "Was the staff kind?", "answers": ["Yes", "No"]},
    )
    await tap(runtime, passes[1], 2)
    staff, visit = await results(runtime, tenant, template_id)
    assert staff == SurveyResults(
        "staff", "Was the staff kind?", [AnswerCount(1, "Yes", 0), AnswerCount(2, "No", 1)]
    )
    assert visit.key == "survey"
    assert visit.question.startswith("How was your visit, ")  # as one of its customers read it
    assert visit.answers == [
        AnswerCount(1, "Great", 2),
        AnswerCount(2, "OK", 1),
        AnswerCount(3, "Not good", 1),
    ]
    # Without a survey: only what was answered.
    await set_survey(runtime, template_id, None)
    assert [r.key for r in await results(runtime, tenant, template_id)] == ["staff", "survey"]
    # Another tenant's template, or none, is not found.
    with pytest.raises(TemplateNotFound):
        await results(runtime, tenant, str(uuid.uuid4()))


async def test_the_visitors_language_and_the_passs_data(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    (ada, grace) = await issue_with_survey(client, runtime, tenant, dev_pki, count=2)
    french = await tap(runtime, ada, 2, "fr-CA")  # no fr-CA table: the French one
    assert (french.question, french.answers) == (
        "Comment s'est passée votre visite, Ada ?",
        ("Super", "Correcte", "Décevante"),
    )
    arabic = await tap(runtime, grace, 1, "AR")
    assert (arabic.question, arabic.answer) == ("كيف كانت زيارتك يا Grace؟", "رائعة")
    (row,) = await stored_answers(runtime, grace["id"])
    assert (row.question, row.answer_text) == ("كيف كانت زيارتك يا Grace؟", "رائعة")
    assert (await survey_events(runtime, grace["id"]))[0]["language"] == "AR"
    german = await tap(runtime, ada, 2, "de")  # no German: as written
    assert (german.question, german.answer, german.changed) == (
        "How was your visit, Ada?",
        "OK",
        False,
    )


def test_translation_tables_and_shown_texts() -> None:
    tables = {"pt-BR": {"Hi": "Oi"}, "fr": {"Hi": "Salut"}, "de-AT": "not a table"}
    assert surveys.translation_table(tables, "pt-br") == {"Hi": "Oi"}
    assert surveys.translation_table(tables, "pt") == {"Hi": "Oi"}
    assert surveys.translation_table(tables, "fr-BE") == {"Hi": "Salut"}
    assert surveys.translation_table(tables, "de-AT") is None
    assert surveys.translation_table(tables, None) is None
    assert surveys.translation_table("not tables", "fr") is None
    data = {"name": "Ada", "serial_number": "S1"}
    table = {"Hi {{ name }}": "Salut {{ name }}", "Hi Grace": "Salut Grace", "Bad": "{{ x"}
    assert surveys.shown_text("Hi {{ name }}", data, table) == "Salut Ada"
    assert (
        surveys.shown_text("Hi {{ name }}", {"name": "Grace"}, {"Hi Grace": "Coucou"}) == "Coucou"
    )
    assert surveys.shown_text("Bad", data, table) == "{{ x"  # a malformed one, as written
    assert surveys.shown_text("{{ serial_number }}", data, None) == "S1"


@pytest.mark.parametrize(
    "block",
    [
        None,
        "a survey",
        {"answers": ["Yes", "No"]},
        {"question": "Well?", "answers": []},
        {"question": "Well?", "answers": "Yes, No"},
        {"question": "Well?", "answers": ["Yes", 2]},
        {"question": "Well?", "answers": ["Yes", " "]},
        {"question": " ", "answers": ["Yes", "No"]},
        {"question": "Well?", "answers": ["Yes", "No"], "key": 7},
        {"question": "Well?", "answers": ["Yes", "No"], "key": "k" * 65},
        {"question": "Well?", "answers": ["a"] * 21},
    ],
)
def test_unusable_surveys_are_no_survey(block: object) -> None:
    assert surveys.survey_of({"survey": block}) is None


def test_a_survey_and_its_default_key() -> None:
    assert surveys.survey_of(
        {"survey": {"question": "Q", "answers": ["A", "B"]}}
    ) == surveys.Survey("survey", "Q", ("A", "B"))
    keyed = surveys.survey_of({"survey": {"key": "visit", "question": "Q", "answers": ["A"]}})
    assert keyed is not None
    assert keyed.key == "visit"


async def test_no_survey_and_answers_it_does_not_have_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    (issued,) = await issue_with_survey(client, runtime, tenant, dev_pki)
    for number in (0, -1, 4, 99999999999999999999):
        with pytest.raises(surveys.AnswerNotFound) as refused:
            await tap(runtime, issued, number)
        assert refused.value.status == 404
        assert refused.value.details == {"answers": 3}
    await set_survey(runtime, issued["template_id"], None)
    with pytest.raises(surveys.SurveyNotFound) as missing:
        await tap(runtime, issued, 1)
    assert (missing.value.code, missing.value.status) == ("survey_not_found", 404)
    assert await stored_answers(runtime, issued["id"]) == []
    assert await survey_events(runtime, issued["id"]) == []


async def test_a_voided_pass_still_takes_answers(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    """A ticket is voided once used: that is when "How was the show?" is answered."""
    (issued,) = await issue_with_survey(client, runtime, tenant, dev_pki, survey=None)
    voided = await client.post(
        f"/api/v1/passes/{issued['id']}/void", headers=auth(tenant["api_key"])
    )
    assert voided.status_code == 200, voided.text
    await set_survey(runtime, issued["template_id"], SURVEY)
    assert (await tap(runtime, issued, 2)).changed


async def test_long_texts_are_cut_to_their_columns(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    """Texts longer than the design schema allows (a design stored under other rules) or
    grown by the pass's data are stored cut, never refused by PostgreSQL."""
    (issued,) = await issue_with_survey(client, runtime, tenant, dev_pki, survey=None)
    long = {"question": "Q" * 400 + "{{ name }}" * 40, "answers": ["é" * 300, "B"]}
    await set_survey(runtime, issued["template_id"], long)
    answered = await tap(runtime, issued, 1)
    assert (len(answered.question), answered.answer) == (500, "é" * 200)
    (row,) = await stored_answers(runtime, issued["id"])
    assert (row.question, row.answer_text) == (answered.question, answered.answer)


async def taps_at_once(
    runtime: Runtime, issued: dict[str, Any], numbers: list[int], monkeypatch: pytest.MonkeyPatch
) -> list[Answered]:
    """Taps in concurrent transactions. On PostgreSQL each waits, after reading that the
    pass has no answer yet, until all have read it: they then all write at once. (SQLite
    has one writer at a time: a write transaction takes the lock when it begins.)"""
    async with runtime.db.sessions() as session:
        postgresql = is_postgresql(session)
    if postgresql:
        barrier = asyncio.Barrier(len(numbers))
        read: Callable[..., Awaitable[int | None]] = answers_repository.current_number

        async def read_then_wait(*args: Any) -> int | None:
            found = await read(*args)
            await asyncio.wait_for(barrier.wait(), timeout=20)
            return found

        monkeypatch.setattr(answers_repository, "current_number", read_then_wait)
    return list(await asyncio.gather(*(tap(runtime, issued, n) for n in numbers)))


async def test_taps_at_once_leave_one_answer(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: dict[str, str],
    dev_pki: DevPki,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = await issue_with_survey(client, runtime, tenant, dev_pki, count=2)
    # Two different answers at once: one row, holding the one written last (the other
    # waited on the unique key, then replaced it); each tap is in the pass's history.
    answered = await taps_at_once(runtime, first, [1, 2], monkeypatch)
    assert all(a.changed for a in answered)
    (row,) = await stored_answers(runtime, first["id"])
    async with runtime.db.sessions() as session:
        taps = await session.execute(
            select(Event.created_at, Event.data).where(
                Event.pass_id == uuid.UUID(first["id"]), Event.kind == "survey_answered"
            )
        )
        events = {(at, data["number"]) for at, data in taps.all()}
    assert {number for _, number in events} == {1, 2}
    assert (row.answered_at, row.answer_number) in events  # the last tap's, whole
    # The same answer twice at once: one row, one event.
    answered = await taps_at_once(runtime, second, [3, 3], monkeypatch)
    assert sorted(a.changed for a in answered) == [False, True]
    (row,) = await stored_answers(runtime, second["id"])
    assert row.answer_number == 3
    assert len(await survey_events(runtime, second["id"])) == 1
    async with runtime.db.sessions() as session:
        total = await session.scalar(select(func.count()).select_from(SurveyAnswer))
    assert total == 2


async def audit_rows(runtime: Runtime) -> list[tuple[str, str]]:
    async with runtime.db.sessions() as session:
        rows = await session.execute(select(AuditEvent.action, AuditEvent.actor_type))
        return sorted((action, actor) for action, actor in rows.all())  # rows have no order


async def test_customers_answers_are_not_in_the_staff_audit_log(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    """Answers come from anonymous customers: the audit log (writes by users and API keys)
    gets nothing from them; and were one written with an actor bound, the log's listeners
    would take it like any other write."""
    first, second = await issue_with_survey(client, runtime, tenant, dev_pki, count=2)
    before = await audit_rows(runtime)
    assert before  # the API key's template and passes are there
    answered = await client.get(f"/p/{token_of(first)}/answers/2", headers={"Accept": "text/html"})
    assert answered.status_code == 200, answered.text
    await tap(runtime, first, 3)
    assert await audit_rows(runtime) == before

    tenant_id = uuid.UUID(tenant["tenant_id"])
    with audit.acting(audit.AuditActor.system(tenant_id, "a test")):
        assert (await tap(runtime, second, 1)).changed
    assert await audit_rows(runtime) == sorted([*before, ("survey_answer.created", "system")])


async def test_answers_follow_the_version_the_pass_shows(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    """A tap answers the survey of the design version the pass was rendered with."""
    (issued,) = await issue_with_survey(client, runtime, tenant, dev_pki)
    async with runtime.transaction() as session:
        template = await session.get(Template, uuid.UUID(issued["template_id"]))
        assert template is not None
        current = await session.scalar(
            select(TemplateVersion).where(
                TemplateVersion.template_id == template.id,
                TemplateVersion.version == template.version,
            )
        )
        assert current is not None
        newer = {**current.design, "survey": {"question": "New?", "answers": ["Yes", "No"]}}
        session.add(
            TemplateVersion(
                template_id=template.id,
                version=template.version + 1,
                design=newer,
                files=current.files,
                created_at=runtime.clock(),
            )
        )
        template.version += 1
    answered = await tap(runtime, issued, 3)  # the pass still shows three answers
    assert answered.answer == "Not good"
    # Counted by number under the same key, named by the newest design where it has the
    # number (a design that changes its answers should take a new key), else as read.
    assert await results(runtime, tenant, issued["template_id"]) == [
        SurveyResults(
            "survey",
            "New?",
            [AnswerCount(1, "Yes", 0), AnswerCount(2, "No", 0), AnswerCount(3, "Not good", 1)],
        )
    ]


async def test_the_pass_s_answer_buttons_lead_to_its_own_answers(
    client: httpx.AsyncClient, runtime: Runtime, tenant: dict[str, str], dev_pki: DevPki
) -> None:
    """What the phone gets: a back field of the question whose links are this pass's
    answers; following one records it."""
    (issued,) = await issue_with_survey(client, runtime, tenant, dev_pki)
    token = token_of(issued)
    bundle = await client.get(f"/p/{token}.pkpass")
    assert bundle.status_code == 200
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        pass_json = json.loads(archive.read("pass.json"))
    (field,) = [f for f in pass_json["storeCard"]["backFields"] if f["key"] == "survey"]
    assert field["label"] == "How was your visit, Ada?"
    assert field["value"] == "Great\nOK\nNot good"
    links = re.findall(r"<a href='([^']+)'>([^<]+)</a>", field["attributedValue"])
    base = f"{runtime.settings.public_url.rstrip('/')}/p/{token}/answers/"
    assert links == [(base + "1", "Great"), (base + "2", "OK"), (base + "3", "Not good")]
    tapped = await client.get(links[1][0].removeprefix(runtime.settings.public_url.rstrip("/")))
    assert tapped.status_code == 200
    (row,) = await stored_answers(runtime, issued["id"])
    assert (row.answer_number, row.answer_text) == (2, "OK")
