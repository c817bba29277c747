"""Customers and their cards: a search by name, email, phone or card number; a customer's
cards; a card's balances, tier and progress, what is pending and what expires when, its
ledger with each entry's reason, and a manual adjustment with a required reason (the
loyalty API's ``AdjustIn`` and service, idempotent against a double submit). Reading
needs loyalty:read; adjusting, loyalty:write."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from passmint.admin import loyaltyform
from passmint.admin.auth import Staff, form_of, requiring
from passmint.admin.i18n import Texts
from passmint.admin.loyaltyform import Problems
from passmint.admin.render import page, texts_for
from passmint.kit.text import LINE
from passmint.loyalty import backoffice, common
from passmint.loyalty import ledger as loyalty_ledger
from passmint.loyalty.errors import AccountClosed, InsufficientBalance
from passmint.loyalty.schemas import AdjustIn
from passmint.passes.service import PassContext
from passmint.tenants import members
from passmint.tenants.scopes import Scope
from passmint.web.deps import RuntimeDep, staff_context

router = APIRouter(prefix="/admin/customers", include_in_schema=False)

Reader = Annotated[Staff, Depends(requiring(Scope.LOYALTY_READ))]
Writer = Annotated[Staff, Depends(requiring(Scope.LOYALTY_WRITE))]
MAX_QUERY: Final = 200
PER_PAGE: Final = 25
LEDGER_PER_PAGE: Final = 50
FORM_KEY: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")


class _Resubmitted(Exception):
    """The form's idempotency key came back with other values than the first time."""


def _page_number(value: str | None) -> int:
    if value and value.isascii() and value.isdigit() and len(value) <= 5:
        return min(max(int(value), 1), backoffice.MAX_PAGE)
    return 1


@router.get("", response_class=HTMLResponse)
async def search(request: Request, runtime: RuntimeDep, staff: Reader) -> HTMLResponse:
    t = texts_for(request)
    query = (request.query_params.get("q") or "").strip()
    error = None
    if len(query) > MAX_QUERY:
        error = t.gettext("Search with at most %(n)s characters.", n=MAX_QUERY)
    elif LINE.problem(query) is not None:
        error = t.gettext("The search holds a character that cannot be searched for.")
    found = None
    if error is None:
        async with runtime.transaction() as session:
            ctx = runtime.pass_context(session, staff.tenant_id)
            found = await backoffice.find_customers(
                ctx, query, page=_page_number(request.query_params.get("page")), per_page=PER_PAGE
            )

    def page_link(number: int) -> str:
        return "/admin/customers?" + urlencode({"q": query, "page": number})

    return page(
        request,
        "customers.html",
        status_code=400 if error else 200,
        title=t.gettext("Customers"),
        staff=staff,
        query=query,
        error=error,
        found=found,
        page_link=page_link,
    )


@router.get("/{customer_id}", response_class=HTMLResponse)
async def customer(
    request: Request, customer_id: uuid.UUID, runtime: RuntimeDep, staff: Reader
) -> HTMLResponse:
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        person, cards = await backoffice.customer_cards(ctx, customer_id)
    t = texts_for(request)
    return page(
        request,
        "customer.html",
        title=person.name or person.email or t.gettext("Customer"),
        staff=staff,
        customer=person,
        cards=cards,
    )


async def _actor_names(runtime: RuntimeDep, ctx: PassContext, staff: Staff) -> dict[str, str]:
    """Who a ledger entry's staff actor was, for those allowed to see the team."""
    if not (staff.can(Scope.USERS_READ) or staff.can(Scope.AUDIT_READ)):
        return {}
    people = await members.members(staff_context(runtime, ctx.session), staff.tenant_id)
    return {str(p.user_id): p.name or p.email for p in people}


async def _card_page(
    request: Request,
    runtime: RuntimeDep,
    ctx: PassContext,
    staff: Staff,
    account_id: uuid.UUID,
    *,
    values: dict[str, str] | None = None,
    problems: Problems | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    t = texts_for(request)
    view = await backoffice.card_view(ctx, account_id)
    ledger = await backoffice.ledger_page(
        ctx,
        view.account,
        page=_page_number(request.query_params.get("page")),
        per_page=LEDGER_PER_PAGE,
    )
    found = problems.by_name if problems else {}
    return page(
        request,
        "card.html",
        status_code=status_code,
        title=t.gettext("Card %(number)s", number=view.account.number),
        staff=staff,
        view=view,
        unit=view.config.currency,
        ledger=ledger,
        actor_names=await _actor_names(runtime, ctx, staff),
        kinds=_kind_names(t),
        values=values or {"amount": "", "reason": ""},
        problem=lambda name: " ".join(found.get(name, [])) or None,
        problem_count=problems.count() if problems else 0,
        form_key=secrets.token_urlsafe(24),
        can_adjust=staff.can(Scope.LOYALTY_WRITE),
        notice=notice,
    )


def _kind_names(t: Texts) -> dict[str, str]:
    return {
        "earn": t.gettext("Earned"),
        "spend": t.gettext("Spent"),
        "refund": t.gettext("Refunded"),
        "expire": t.gettext("Expired"),
        "adjust": t.gettext("Adjusted"),
        "reversal": t.gettext("Taken back (a return)"),
    }


@router.get("/cards/{account_id}", response_class=HTMLResponse)
async def card(
    request: Request, account_id: uuid.UUID, runtime: RuntimeDep, staff: Reader
) -> HTMLResponse:
    t = texts_for(request)
    notice = {"adjusted": t.gettext("The adjustment is recorded.")}.get(
        request.query_params.get("done", "")
    )
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        return await _card_page(request, runtime, ctx, staff, account_id, notice=notice)


@router.post("/cards/{account_id}/adjust", response_class=HTMLResponse)
async def adjust(
    request: Request, account_id: uuid.UUID, runtime: RuntimeDep, staff: Writer
) -> Response:
    """A manual adjustment through the API's schema and service. The form carries a key
    made when it was shown: sent twice, it records one entry."""
    t = texts_for(request)
    form = await form_of(request)
    values = {"amount": (form.get("amount") or "").strip()[:64], "reason": form.get("reason") or ""}
    problems = Problems()
    key = form.get("idempotency_key") or ""
    body: dict[str, Any] = {"reason": values["reason"].strip()}
    if values["amount"]:
        try:
            body["amount"] = loyaltyform.whole_number(t, values["amount"], signed=True)
        except loyaltyform.Unreadable as exc:
            problems.add("amount", exc.message)
            problems.unreadable.add("amount")
    if not FORM_KEY.fullmatch(key):
        problems.add("", t.gettext("This form has expired. Reload the page and try again."))
    change = loyaltyform.validated(AdjustIn, body, problems)
    status_code = 422
    if change is not None:
        actor = common.Actor(staff.principal.actor_type, staff.principal.actor_id)
        try:
            for attempt in (1, 2):
                try:
                    async with runtime.transaction() as session:
                        ctx = runtime.pass_context(session, staff.tenant_id)
                        entry = await loyalty_ledger.adjust(
                            ctx,
                            account_id,
                            change.amount,
                            key=f"admin:{account_id}:{key}",
                            actor=actor,
                            note=change.reason,
                        )
                        same = (entry.account_id, entry.amount, entry.note)
                        if same != (account_id, change.amount, change.reason):
                            raise _Resubmitted
                    break
                except IntegrityError:  # the same form, sent twice at once: the other won
                    if attempt == 2:
                        raise
            return RedirectResponse(
                f"/admin/customers/cards/{account_id}?done=adjusted", status_code=303
            )
        except InsufficientBalance as exc:
            balance = int(exc.details.get("balance", 0))
            problems.add(
                "amount",
                t.gettext(
                    "The card has %(balance)s: an adjustment cannot take it below zero.",
                    balance=t.number(balance),
                ),
            )
            status_code = 409
        except AccountClosed:
            problems.add("", t.gettext("This card is closed: its balance cannot change."))
            status_code = 409
        except _Resubmitted:
            problems.add(
                "",
                t.gettext(
                    "This form was sent before with other values, so nothing was changed. "
                    "The page now shows the card as it is: adjust it from here."
                ),
            )
            values = {"amount": "", "reason": ""}
            status_code = 409
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        return await _card_page(
            request,
            runtime,
            ctx,
            staff,
            account_id,
            values=values,
            problems=problems,
            status_code=status_code,
        )
