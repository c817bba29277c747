"""Customers' answers to the survey on the back of their pass (passmint.passes.surveys)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from passmint.kit import lengths
from passmint.models.base import Base, id_column

SURVEY_KEY: Final = lengths.KEY
"""A design's ``survey.key``."""
QUESTION: Final = 500
"""The question as the customer saw it (placeholders filled, translated), cut to this."""
ANSWER: Final = 200
"""The answer as the customer saw it, cut to this."""


class SurveyAnswer(Base):
    """A pass's current answer to one survey (by its key): a customer who changes their
    mind replaces it, so the table holds one row per (pass, survey). The texts are
    snapshots of what the customer read; the pass's event log keeps every tap."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("pass_id", "survey_key"),
        # The designer's counts per answer, read from the index alone.
        Index(
            "ix_survey_answers_tenant_template",
            "tenant_id",
            "template_id",
            "survey_key",
            "answer_number",
        ),
    )

    id: Mapped[uuid.UUID] = id_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    pass_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("passes.id"))
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"))
    survey_key: Mapped[str] = mapped_column(String(SURVEY_KEY))
    answer_number: Mapped[int] = mapped_column(Integer)
    """1-based, in the order of the design's answers."""
    question: Mapped[str] = mapped_column(String(QUESTION))
    answer_text: Mapped[str] = mapped_column(String(ANSWER))
    answered_at: Mapped[datetime]
