"""Where a survey's answer buttons lead: ``<the pass's link>/answers/<n>`` (n from 1), on
this server, which records the pass's answer (:mod:`passmint.passes.surveys`).

The pass's link (``https://<server>/p/<token>``) comes in the pass data under
:data:`PASS_URL`, put there by the pass service with the other built-in values; a preview,
which has no pass, links to :data:`SAMPLE_PASS_URL`. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["PASS_URL", "SAMPLE_PASS_URL", "SURVEY_KEY", "survey_answer_url"]

PASS_URL: Final = "pass_url"  # noqa: S105 - a data key
"""The data key of the pass's own link (its landing page)."""
SAMPLE_PASS_URL: Final = "https://passmint.invalid/p/sample"  # noqa: S105 - an address
SURVEY_KEY: Final = "survey"
"""The survey's field key when the design gives none."""


def survey_answer_url(data: Mapping[str, Any], number: int) -> str:
    """The link of answer ``number`` (1-based) of the pass whose data this is."""
    base = data.get(PASS_URL)
    if not isinstance(base, str) or not base.startswith(("https://", "http://")):
        base = SAMPLE_PASS_URL
    return f"{base.rstrip('/')}/answers/{number}"
