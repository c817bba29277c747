"""Code batches: generated from a pattern (in the request when small, by chained jobs when
large) or imported from CSV (all or nothing). A service module: flushes, never commits.

Generation draws codes with ``secrets``, drops duplicates in memory, and inserts them
against the tenant's unique normalized codes, skipping any taken code and drawing again for
whatever collided, so a batch ends with exactly its count of new unique codes. When the
pattern's space is so sparse that a collision is unlikely, the codes go in by COPY (redone
as ``INSERT … ON CONFLICT DO NOTHING`` if one was taken after all).
"""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from datetime import UTC, datetime
from itertools import islice
from typing import NoReturn

from passmint.coupons import batches_repository as repository
from passmint.coupons import codes
from passmint.coupons.codes import CodeSpec, PatternError, RandomBytes
from passmint.coupons.errors import (
    BatchNotFound,
    CampaignInactive,
    CodeConflict,
    CodeSpaceExhausted,
    InvalidImport,
    InvalidPattern,
    InvalidRules,
    PatternSpaceTooSmall,
)
from passmint.coupons.rules import MAX_AMOUNT, MAX_COUNT, CampaignStatus, Kind, check_amount
from passmint.coupons.schemas import BatchCreate
from passmint.coupons.service import get_campaign
from passmint.kit.ids import uuid7
from passmint.models import Campaign, CodeBatch
from passmint.passes.service import PassContext
from passmint.tenants import quotas
from passmint.tenants.quotas import Quota
from passmint.worker.outbox import enqueue

GENERATE_JOB = "coupons.generate_codes"
SYNC_LIMIT = 10_000  # codes made inside the request; more go to jobs
CHUNK = 100_000  # codes per job transaction (about two seconds on PostgreSQL)
ROUNDS = 16  # draws per chunk before the pattern counts as full
MAX_IMPORT_ROWS = 200_000
MAX_IMPORT_BYTES = 16 * 1024 * 1024
MAX_REPORTED = 100
IMPORT_COLUMNS = {"code", "balance", "max_uses", "expires_at"}
# A pattern's space must hold this many times the codes made from it: a guess then hits a
# code with a probability of 1/1,000 at most (about log2(1,000 × codes) bits of entropy).
MIN_SPACE_FACTOR = 1_000
# Below this many expected collisions with the codes already made from a pattern, a chunk
# goes in by COPY: at worst one chunk in twenty is redone by the slower conflict-skipping path.
COPY_BELOW_COLLISIONS = 0.05


def _usable(campaign: Campaign) -> None:
    if campaign.status == CampaignStatus.ARCHIVED:
        raise CampaignInactive("the campaign is archived")


async def create_batch(ctx: PassContext, campaign_id: uuid.UUID, body: BatchCreate) -> CodeBatch:
    """Up to ``SYNC_LIMIT`` codes are stored before this returns (status ``ready``); a
    larger batch is ``generating`` until its jobs are done."""
    campaign = await get_campaign(ctx, campaign_id)
    _usable(campaign)
    try:
        spec = codes.parse_spec(
            prefix=body.prefix, pattern=body.pattern, charset=body.charset, length=body.length
        )
    except PatternError as exc:
        raise InvalidPattern(str(exc), details={"field": exc.field}) from None
    earlier = await _check_space(ctx, spec, body)
    await quotas.take(ctx.session, ctx.tenant_id, ctx.quotas, Quota.CODES, body.count)
    sent = body.model_fields_set
    max_uses = body.max_uses if "max_uses" in sent else campaign.code_max_uses
    if max_uses is not None and not 1 <= max_uses <= MAX_COUNT:
        raise InvalidRules("max_uses: must be at least 1", details={"field": "max_uses"})
    balance = None
    if campaign.kind == Kind.GIFT_CARD:
        balance = body.balance if body.balance is not None else campaign.initial_balance
        check_amount("balance", balance, minimum=1)
    elif body.balance is not None:
        raise InvalidRules(
            "balance: only gift-card codes have a balance", details={"field": "balance"}
        )
    batch = CodeBatch(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        campaign_id=campaign.id,
        source="generated",
        status="generating",
        prefix=spec.prefix or None,
        pattern=spec.pattern,
        charset=spec.charset,
        requested=body.count,
        inserted=0,
        max_uses=max_uses,
        balance=balance,
        expires_at=body.expires_at.astimezone(UTC) if body.expires_at is not None else None,
        created_at=ctx.now,
    )
    ctx.session.add(batch)
    await ctx.session.flush()
    if body.count <= SYNC_LIMIT:
        batch.inserted = await fill(ctx, batch, spec, body.count, earlier=earlier)
        if batch.inserted < body.count:
            raise CodeSpaceExhausted(
                f"only {batch.inserted} more unique codes fit this pattern; use a longer one",
                details={"field": "pattern", "inserted": batch.inserted},
            )
        batch.status = "ready"
        batch.completed_at = ctx.now
    else:
        await enqueue(
            ctx.session,
            GENERATE_JOB,
            {"tenant_id": str(ctx.tenant_id), "batch_id": str(batch.id)},
            now=ctx.now,
        )
    await ctx.session.flush()
    return batch


async def _check_space(ctx: PassContext, spec: CodeSpec, body: BatchCreate) -> int:
    """At most one code in ``MIN_SPACE_FACTOR`` of a pattern's space may exist, counting the
    tenant's earlier batches of the same pattern, so that a guess finds a code with a
    probability of 1/1,000 at most (the rate limits bound how many guesses there are).
    Returns how many codes those earlier batches asked for."""
    earlier = await repository.codes_of_pattern(
        ctx.session, ctx.tenant_id, spec.prefix or None, spec.pattern, spec.charset
    )
    needed = (earlier + body.count) * MIN_SPACE_FACTOR
    if spec.space >= needed:
        return earlier
    field = "pattern" if body.pattern is not None else "length"
    with_earlier = f" with the {earlier} made earlier from it" if earlier else ""
    raise PatternSpaceTooSmall(
        f"{field}: the pattern makes {spec.space} distinct codes, and {body.count} codes"
        f"{with_earlier} need at least {MIN_SPACE_FACTOR:,} times as many ({needed}) to be "
        "hard to guess: use a longer pattern or a larger charset",
        details={
            "field": field,
            "possible": spec.space,
            "requested": body.count,
            "earlier": earlier,
            "needed": needed,
            "factor": MIN_SPACE_FACTOR,
        },
    )


def spec_of(batch: CodeBatch) -> CodeSpec:
    assert batch.pattern is not None
    assert batch.charset is not None
    return CodeSpec(prefix=batch.prefix or "", pattern=batch.pattern, charset=batch.charset)


async def fill(
    ctx: PassContext,
    batch: CodeBatch,
    spec: CodeSpec,
    want: int,
    random_bytes: RandomBytes = secrets.token_bytes,
    *,
    earlier: int,
) -> int:
    """Insert ``want`` new unique codes into the batch (fewer only if the pattern is full).
    ``earlier``: how many codes of the pattern the tenant may have already, which tells
    whether the codes most likely all go in (then by COPY)."""
    likely_new = want * earlier < COPY_BELOW_COLLISIONS * spec.space
    seen: set[str] = set()
    inserted = 0
    for _ in range(ROUNDS):
        need = want - inserted
        if need <= 0:
            break
        shown, normal = codes.generate(spec, need + need // 16 + 8, random_bytes)
        drawn = dict(zip(normal, shown, strict=True))  # normalized → one display form
        for taken in seen.intersection(drawn):
            del drawn[taken]
        fresh = drawn if len(drawn) <= need else dict(islice(drawn.items(), need))
        count = len(fresh)
        went_in = await repository.insert_codes(
            ctx.session,
            tenant_id=ctx.tenant_id,
            campaign_id=batch.campaign_id,
            batch_id=batch.id,
            now=ctx.now,
            rows=repository.NewCodes(
                codes=list(fresh.values()),
                normalized=list(fresh),
                max_uses=[batch.max_uses] * count,
                balances=[batch.balance] * count,
                expires_at=[batch.expires_at] * count,
            ),
            likely_new=likely_new,
        )
        inserted += went_in
        if inserted < want:  # drawn again: skip what this round tried
            seen.update(fresh)
        likely_new = likely_new and went_in == count
    return inserted


async def generate_chunk(ctx: PassContext, batch_id: uuid.UUID) -> bool:
    """One job's share of a large batch. True when another job should follow."""
    batch = await repository.get_batch(ctx.session, ctx.tenant_id, batch_id, lock=True)
    if batch is None or batch.status != "generating":
        return False  # a replayed job: the batch is done already
    want = min(CHUNK, batch.requested - batch.inserted)
    spec = spec_of(batch)
    # This batch's own codes count: its earlier chunks are in the space too.
    earlier = await repository.codes_of_pattern(
        ctx.session, ctx.tenant_id, batch.prefix, spec.pattern, spec.charset
    )
    got = await fill(ctx, batch, spec, want, earlier=earlier)
    batch.inserted += got
    if got < want:
        batch.status = "failed"
        batch.error = f"code_space_exhausted: only {batch.inserted} unique codes fit this pattern"
        batch.completed_at = ctx.now
        return False
    if batch.inserted >= batch.requested:
        batch.status = "ready"
        batch.completed_at = ctx.now
        return False
    return True


async def get_batch(ctx: PassContext, campaign_id: uuid.UUID, batch_id: uuid.UUID) -> CodeBatch:
    campaign = await get_campaign(ctx, campaign_id)
    batch = await repository.get_batch(ctx.session, ctx.tenant_id, batch_id)
    if batch is None or batch.campaign_id != campaign.id:
        raise BatchNotFound(f"no batch {batch_id} in this campaign")
    return batch


# -- CSV import --------------------------------------------------------------------------------


class _Report:
    def __init__(self) -> None:
        self.errors: list[dict[str, object]] = []
        self.count = 0

    def add(self, line: int, error: str, message: str) -> None:
        self.count += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append({"line": line, "error": error, "message": message})

    def fail(self, line: int, error: str, message: str) -> NoReturn:
        self.add(line, error, message)
        self.raise_if_any()
        raise AssertionError("unreachable")

    def raise_if_any(self) -> None:
        if self.count:
            raise InvalidImport(
                f"{self.count} problem(s) in the CSV; nothing was imported",
                details={"errors": self.errors, "error_count": self.count},
            )


def _integer(text: str, *, minimum: int, maximum: int) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > 15:
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def _timestamp(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.astimezone(UTC) if value.tzinfo is not None else None


def _lines(data: bytes, report: _Report) -> list[tuple[int, dict[str, str]]]:
    if len(data) > MAX_IMPORT_BYTES:
        report.fail(0, "too_large", f"the CSV is over {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.fail(0, "encoding", f"the CSV is not UTF-8 text (byte {exc.start})")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        header = next(reader, None)
        if header is None:
            report.fail(1, "missing_header", "the CSV is empty: it needs a header with 'code'")
        names = [h.strip().lower() for h in header]
        unknown = sorted(set(names) - IMPORT_COLUMNS)
        if "code" not in names or unknown or len(set(names)) != len(names):
            report.fail(
                1,
                "invalid_header",
                "columns are code (required), balance, max_uses and expires_at, once each"
                + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
            )
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(rows) >= MAX_IMPORT_ROWS:
                report.add(reader.line_num, "too_many_rows", f"at most {MAX_IMPORT_ROWS} codes")
                break
            if len(row) != len(names):
                report.add(
                    reader.line_num,
                    "malformed",
                    f"{len(row)} fields where the header has {len(names)}",
                )
                continue
            rows.append((reader.line_num, dict(zip(names, (c.strip() for c in row), strict=True))))
    except csv.Error as exc:
        report.add(reader.line_num, "malformed", f"not valid CSV: {exc}")
    return rows


async def import_codes(ctx: PassContext, campaign_id: uuid.UUID, data: bytes) -> CodeBatch:
    """Import codes from CSV (a ``code`` column; optional ``balance``, ``max_uses``,
    ``expires_at``). Every problem is reported with its line and nothing is stored unless
    all rows are good."""
    campaign = await get_campaign(ctx, campaign_id)
    _usable(campaign)
    report = _Report()
    rows = _lines(data, report)
    await quotas.take(ctx.session, ctx.tenant_id, ctx.quotas, Quota.CODES, len(rows))
    gift = campaign.kind == Kind.GIFT_CARD
    first: dict[str, int] = {}
    shown: list[str] = []
    normal: list[str] = []
    lines: list[int] = []
    max_uses: list[int | None] = []
    balances: list[int | None] = []
    expiries: list[datetime | None] = []
    for line, row in rows:
        folded = codes.normalize(row["code"])
        if folded is None or len(row["code"]) > codes.MAX_CODE_LENGTH:
            report.add(line, "invalid_code", "a code is 1 to 64 letters and digits (- _ . space)")
            continue
        if folded in first:
            report.add(line, "duplicate", f"the same code as line {first[folded]} once normalized")
            continue
        first[folded] = line
        balance: int | None = None
        if row.get("balance"):
            if not gift:
                report.add(line, "invalid_balance", "only gift-card codes have a balance")
                continue
            balance = _integer(row["balance"], minimum=1, maximum=MAX_AMOUNT)
            if balance is None:
                report.add(line, "invalid_balance", "balance: a whole number of minor units ≥ 1")
                continue
        elif gift:
            balance = campaign.initial_balance
        uses = campaign.code_max_uses
        if row.get("max_uses"):
            uses = _integer(row["max_uses"], minimum=1, maximum=MAX_COUNT)
            if uses is None:
                report.add(line, "invalid_max_uses", "max_uses: a whole number ≥ 1")
                continue
        expires: datetime | None = None
        if row.get("expires_at"):
            expires = _timestamp(row["expires_at"])
            if expires is None:
                report.add(
                    line,
                    "invalid_expires_at",
                    "expires_at: ISO 8601 with a zone, e.g. 2027-01-31T23:59:59Z",
                )
                continue
        shown.append(row["code"])
        normal.append(folded)
        lines.append(line)
        max_uses.append(uses)
        balances.append(balance)
        expiries.append(expires)
    taken = await repository.existing_codes(ctx.session, ctx.tenant_id, normal)
    for folded, line in zip(normal, lines, strict=True):
        if folded in taken:
            report.add(line, "exists", "this code exists already")
    if not normal and not report.count:
        report.add(1, "empty", "the CSV holds no codes")
    report.raise_if_any()
    batch = CodeBatch(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        campaign_id=campaign.id,
        source="imported",
        status="ready",
        requested=len(normal),
        inserted=0,
        max_uses=campaign.code_max_uses,
        balance=campaign.initial_balance if gift else None,
        created_at=ctx.now,
        completed_at=ctx.now,
    )
    ctx.session.add(batch)
    await ctx.session.flush()
    batch.inserted = await repository.insert_codes(
        ctx.session,
        tenant_id=ctx.tenant_id,
        campaign_id=campaign.id,
        batch_id=batch.id,
        now=ctx.now,
        rows=repository.NewCodes(
            codes=shown,
            normalized=normal,
            max_uses=max_uses,
            balances=balances,
            expires_at=expiries,
        ),
        likely_new=True,  # the taken ones were refused above
    )
    if batch.inserted != len(normal):
        raise CodeConflict(
            "another import or batch stored some of these codes meanwhile; nothing was imported"
        )
    await ctx.session.flush()
    return batch
