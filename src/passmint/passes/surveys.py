"""The survey on the back of a pass: a question and 2 to 5 answers, each a link to
``/p/{download_token}/answers/{n}``. A tap records the pass's answer (a changed mind
replaces it, the same answer again changes nothing) and puts it in the pass's history;
the designer counts the current answers.

The design's ``survey`` block is read from the stored JSON of the version the pass shows
(``{"key": "survey", "question": "...", "answers": ["...", ...]}``, ``key`` optional), so
what is recorded is what the customer read: its texts filled from the pass's data and
translated through the design's ``localizations`` into the visitor's language.

Answers are not refused on voided passes: a ticket is voided once used, which is when its
"How was the show?" gets answered, and an answer changes nothing the pass is worth.
Customers are anonymous: no audit actor is bound on their pages, so answers are not in
the staff's audit log (passmint.tenants.audit records writes by users and API keys).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from passmint.errors import PassmintError
from passmint.kit import lengths
from passmint.models import Pass, SurveyAnswer
from passmint.models.surveys import ANSWER, QUESTION, SURVEY_KEY
from passmint.passes import repository
from passmint.passes import surveys_repository as answers_repository
from passmint.passes.errors import TemplateNotFound
from passmint.passes.events import EventKind, record
from passmint.passes.service import PassContext, builtins
from passmint.wallet.designs.placeholders import PlaceholderError, render_text
from passmint.wallet.designs.survey import SURVEY_KEY as SURVEY_KEY_DEFAULT

MAX_ANSWERS: Final = 20
"""More than a design may have (the design schema decides how many): a bound on what is
read from stored JSON, not the rule."""


class SurveyNotFound(PassmintError):
    """The design of the pass has no survey (or no longer has one)."""

    code = "survey_not_found"
    status = 404


class AnswerNotFound(PassmintError):
    """The survey of the pass has no answer with that number (they are numbered from 1)."""

    code = "answer_not_found"
    status = 404


@dataclass(frozen=True, slots=True)
class Survey:
    """A design's survey, as written in it (placeholders and source language)."""

    key: str
    question: str
    answers: tuple[str, ...]


def survey_of(design: Mapping[str, Any]) -> Survey | None:
    """The survey of a stored design, None when it has none or none that is usable."""
    block = design.get("survey")
    if not isinstance(block, Mapping):
        return None
    key = block.get("key")
    if key is None or key == "":
        key = SURVEY_KEY_DEFAULT
    question = block.get("question")
    answers = block.get("answers")
    if (
        not isinstance(key, str)
        or len(key) > SURVEY_KEY
        or not isinstance(question, str)
        or not question.strip()
        or not isinstance(answers, list)
        or not 1 <= len(answers) <= MAX_ANSWERS
        or not all(isinstance(a, str) and a.strip() for a in answers)
    ):
        return None
    return Survey(key, question, tuple(answers))


def translation_table(localizations: object, language: str | None) -> Mapping[str, Any] | None:
    """The design's translations for the visitor's language tag: the same tag (any case),
    else its language alone (``pt-BR`` → ``pt``), else a regional table of that language
    (``pt`` → ``pt-BR``, the first by name)."""
    if not language or not isinstance(localizations, Mapping):
        return None
    tables = {
        str(tag).lower(): table
        for tag, table in localizations.items()
        if isinstance(table, Mapping)
    }
    wanted = language.strip().lower()
    primary = wanted.split("-")[0]
    for tag in (wanted, primary):
        if tag in tables:
            return tables[tag]
    for tag in sorted(tables):
        if tag.split("-")[0] == primary:
            return tables[tag]
    return None


def _fill(text: str, data: Mapping[str, Any]) -> str:
    try:
        return render_text(text, data)
    except PlaceholderError:  # a design stored under other rules: shown as written
        return text


def shown_text(text: str, data: Mapping[str, Any], table: Mapping[str, Any] | None) -> str:
    """A design text as the visitor reads it: translated (by its source text, else by its
    filled-in text, as the wallets look translations up), with the pass's data filled in."""
    translated = table.get(text) if table is not None else None
    if isinstance(translated, str) and translated:
        return _fill(translated, data)
    filled = _fill(text, data)
    again = table.get(filled) if table is not None else None
    return again if isinstance(again, str) and again else filled


@dataclass(frozen=True, slots=True)
class Answered:
    """The answer a tap recorded, in the visitor's language."""

    survey_key: str
    number: int
    question: str
    answers: tuple[str, ...]
    """Every answer as shown, numbered from 1 (the page offers the others)."""
    changed: bool
    """False: the pass already gave this answer (nothing was written)."""

    @property
    def answer(self) -> str:
        return self.answers[self.number - 1]


async def answer(ctx: PassContext, pass_: Pass, number: int, language: str | None) -> Answered:
    """Record ``pass_``'s answer ``number`` (1-based) to its survey; ``language``: the
    visitor's language tag (``fr-CA``), for the design's translations."""
    version = await repository.get_template_version(
        ctx.session, pass_.template_id, pass_.template_version
    )
    survey = survey_of(version.design) if version is not None else None
    if version is None or survey is None:
        raise SurveyNotFound("this pass has no survey")
    if not 1 <= number <= len(survey.answers):
        raise AnswerNotFound(
            f"the survey has answers 1 to {len(survey.answers)}",
            details={"answers": len(survey.answers)},
        )
    table = translation_table(version.design.get("localizations"), language)
    data = {**pass_.data, **builtins(ctx, pass_)}
    question = shown_text(survey.question, data, table)[:QUESTION]
    answers = tuple(shown_text(text, data, table)[:ANSWER] for text in survey.answers)
    previous = await answers_repository.current_number(ctx.session, pass_.id, survey.key)
    changed = False
    if previous != number:
        changed = await answers_repository.store(
            ctx.session,
            tenant_id=pass_.tenant_id,
            pass_id=pass_.id,
            template_id=pass_.template_id,
            survey_key=survey.key,
            number=number,
            question=question,
            answer=answers[number - 1],
            now=ctx.now,
        )
    if changed:
        await record(
            ctx.session,
            tenant_id=pass_.tenant_id,
            kind=EventKind.SURVEY_ANSWERED,
            now=ctx.now,
            pass_id=pass_.id,
            data={
                "survey_key": survey.key,
                "number": number,
                "question": question,
                "answer": answers[number - 1],
                "previous": previous,
                "language": (language or "")[: lengths.LOCALE] or None,
            },
        )
    return Answered(survey.key, number, question, answers, changed)


# -- for the staff ---------------------------------------------------------------------------


class AnswerCount(NamedTuple):
    number: int
    text: str
    passes: int
    """How many passes give this answer now."""


class SurveyResults(NamedTuple):
    """One survey of a template: its key, question and the passes giving each answer."""

    key: str
    question: str
    answers: list[AnswerCount]

    @property
    def total(self) -> int:
        return sum(a.passes for a in self.answers)


async def results(ctx: PassContext, template_id: uuid.UUID) -> list[SurveyResults]:
    """The current answers of the template's passes, counted. First the survey of the
    template's newest design (its texts as written, every answer listed, answered or not),
    then the surveys it no longer has (another key), named by what their customers read.
    Counts go by answer number: a design that reorders its answers should take a new key."""
    template = await repository.get_template(ctx.session, ctx.tenant_id, template_id)
    if template is None:
        raise TemplateNotFound(f"no template {template_id}")
    version = await repository.get_template_version(ctx.session, template.id, template.version)
    survey = survey_of(version.design) if version is not None else None
    counted = await answers_repository.counts(ctx.session, ctx.tenant_id, template.id)
    named = len(survey.answers) if survey is not None else 0
    orphans = [
        (key, number)
        for key, number, _ in counted
        if survey is None or key != survey.key or number > named
    ]
    snapshots = await answers_repository.snapshots(ctx.session, ctx.tenant_id, template.id, orphans)
    by_key: dict[str, dict[int, int]] = {}
    for key, number, count in counted:
        by_key.setdefault(key, {})[number] = count
    found: list[SurveyResults] = []
    if survey is not None:
        counts = by_key.pop(survey.key, {})
        listed = [
            AnswerCount(n, text, counts.pop(n, 0)) for n, text in enumerate(survey.answers, 1)
        ]
        listed += _snapshot_counts(survey.key, counts, snapshots)
        found.append(SurveyResults(survey.key, survey.question, listed))
    for key in sorted(by_key):
        listed = _snapshot_counts(key, by_key[key], snapshots)
        question = snapshots.get((key, listed[0].number), ("", ""))[0] if listed else ""
        found.append(SurveyResults(key, question, listed))
    return found


def _snapshot_counts(
    key: str, counts: Mapping[int, int], snapshots: Mapping[tuple[str, int], tuple[str, str]]
) -> list[AnswerCount]:
    return [
        AnswerCount(number, snapshots.get((key, number), ("", ""))[1], count)
        for number, count in sorted(counts.items())
    ]


async def answers_of(ctx: PassContext, pass_: Pass) -> Sequence[SurveyAnswer]:
    """The pass's current survey answers, the latest first (``pass_``: the tenant's pass,
    as ``get_pass`` found it)."""
    return await answers_repository.answers_of(ctx.session, ctx.tenant_id, pass_.id)
