"""The SQL of survey answers (passmint.passes.surveys)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.ids import uuid7
from passmint.kit.sql import insert_for
from passmint.models import SurveyAnswer


async def current_number(session: AsyncSession, pass_id: uuid.UUID, survey_key: str) -> int | None:
    """The answer a pass gives the survey now, if any."""
    query = select(SurveyAnswer.answer_number).where(
        SurveyAnswer.pass_id == pass_id, SurveyAnswer.survey_key == survey_key
    )
    return (await session.execute(query)).scalar_one_or_none()


async def store(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    pass_id: uuid.UUID,
    template_id: uuid.UUID,
    survey_key: str,
    number: int,
    question: str,
    answer: str,
    now: datetime,
) -> bool:
    """Insert the pass's answer, or replace another answer it gave; one statement, so two
    taps at once leave one row (the later waits on the unique key, then replaces or keeps).
    True if it changed something: False when the pass already gave this answer."""
    values = {
        "id": uuid7(),
        "tenant_id": tenant_id,
        "pass_id": pass_id,
        "template_id": template_id,
        "survey_key": survey_key,
        "answer_number": number,
        "question": question,
        "answer_text": answer,
        "answered_at": now,
    }
    statement = insert_for(session, SurveyAnswer).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["pass_id", "survey_key"],
        set_={
            "answer_number": statement.excluded.answer_number,
            "question": statement.excluded.question,
            "answer_text": statement.excluded.answer_text,
            "answered_at": statement.excluded.answered_at,
        },
        where=SurveyAnswer.answer_number != statement.excluded.answer_number,
    ).returning(SurveyAnswer.id)
    return (await session.execute(statement)).first() is not None


async def counts(
    session: AsyncSession, tenant_id: uuid.UUID, template_id: uuid.UUID
) -> list[tuple[str, int, int]]:
    """(survey key, answer number, how many passes give it) of the template's current
    answers, read from ix_survey_answers_tenant_template alone."""
    query = (
        select(SurveyAnswer.survey_key, SurveyAnswer.answer_number, func.count())
        .where(SurveyAnswer.tenant_id == tenant_id, SurveyAnswer.template_id == template_id)
        .group_by(SurveyAnswer.survey_key, SurveyAnswer.answer_number)
        .order_by(SurveyAnswer.survey_key, SurveyAnswer.answer_number)
    )
    rows = await session.execute(query)
    return [(str(key), int(number), int(count)) for key, number, count in rows.all()]


async def snapshots(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    template_id: uuid.UUID,
    groups: Sequence[tuple[str, int]],
) -> dict[tuple[str, int], tuple[str, str]]:
    """For answers the current design no longer names: (question, answer) as one of the
    customers who gave it read them, by (survey key, answer number)."""
    if not groups:
        return {}
    query = (
        select(
            SurveyAnswer.survey_key,
            SurveyAnswer.answer_number,
            func.max(SurveyAnswer.question),
            func.max(SurveyAnswer.answer_text),
        )
        .where(
            SurveyAnswer.tenant_id == tenant_id,
            SurveyAnswer.template_id == template_id,
            tuple_(SurveyAnswer.survey_key, SurveyAnswer.answer_number).in_(list(groups)),
        )
        .group_by(SurveyAnswer.survey_key, SurveyAnswer.answer_number)
    )
    rows = await session.execute(query)
    return {
        (str(key), int(number)): (str(question), str(answer))
        for key, number, question, answer in rows.all()
    }


async def answers_of(
    session: AsyncSession, tenant_id: uuid.UUID, pass_id: uuid.UUID
) -> list[SurveyAnswer]:
    """A pass's current answers, the latest first."""
    query = (
        select(SurveyAnswer)
        .where(SurveyAnswer.tenant_id == tenant_id, SurveyAnswer.pass_id == pass_id)
        .order_by(SurveyAnswer.answered_at.desc(), SurveyAnswer.survey_key)
    )
    return list((await session.execute(query)).scalars())
