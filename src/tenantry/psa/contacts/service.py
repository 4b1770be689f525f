"""Contacts: the rules. Services never commit; the request's unit of work does."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.audit.changes import of_pairs, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.audit.service import record
from tenantry.db.base import new_id
from tenantry.errors import NotFound, ValidationFailed
from tenantry.kit.pagination import Keyset, check_limit, page_of
from tenantry.psa.contacts import repository
from tenantry.psa.contacts.models import Contact
from tenantry.psa.contacts.schemas import (
    ContactChanges,
    ImportReport,
    RejectedRow,
    clean_email,
    clean_job_title,
    clean_name,
    clean_phone,
)
from tenantry.psa.service_plans.service import ServicePlanService, count_users_with

MAX_IMPORT_ROWS = 10_000
# The default of TENANTRY_MAX_IMPORT_BYTES; the routes pass the configured one.
MAX_IMPORT_BYTES = 5 * 1024 * 1024
IMPORT_COLUMNS = ("name", "email", "phone", "job_title")
_CLEANERS: dict[str, Callable[[str], str]] = {
    "name": clean_name,
    "email": clean_email,
    "phone": clean_phone,
    "job_title": clean_job_title,
}
# Contacts are listed by name, ties by id.
BY_NAME = Keyset(str, uuid.UUID)

# A client's users, for per-user service plans, are its contacts (its end users): plans
# count them this way when a plan is assigned, and every change below that creates
# contacts moves the kept count in its own unit of work (ServicePlanService.users_moved).
# An archive or delete of contacts, when it comes, moves it back the same way.
count_users_with(repository.count)


def _parse_id(value: str | uuid.UUID) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound("No such contact.") from exc


def _rows(reader: csv.DictReader[str]) -> Iterator[dict[str | Any, str | Any]]:
    """The reader's rows; a line the CSV reader itself cannot read (a field past its
    128 KiB limit, a broken quote) refuses the file, naming the line."""
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValidationFailed(
                "file", f"line {reader.line_num + 1} cannot be read as CSV ({exc})"
            ) from exc
        yield row


class ContactService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, ctx: TenantContext, contact_id: str | uuid.UUID) -> Contact:
        contact = await repository.by_id(self.session, ctx.tenant.id, _parse_id(contact_id))
        if contact is None:
            raise NotFound("No such contact.")
        return contact

    async def list(
        self, ctx: TenantContext, *, query: str | None, cursor: str | None, limit: int
    ) -> tuple[list[Contact], str | None]:
        check_limit(limit)
        if query is not None and len(query) > 100:
            raise ValidationFailed("q", "must be at most 100 characters long")
        after = BY_NAME.decode(cursor)
        rows = await repository.page(
            self.session,
            ctx.tenant.id,
            query=query or None,
            after=(after[0], after[1]) if after is not None else None,
            limit=limit,
        )
        return page_of(rows, limit, lambda c: (c.name, str(c.id)))

    # ---- read by other PSA areas (tickets name a contact as requester)

    async def by_ids(
        self, ctx: TenantContext, ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, Contact]:
        return await repository.by_ids(self.session, ctx.tenant.id, ids)

    async def find(self, ctx: TenantContext, contact_id: uuid.UUID) -> Contact | None:
        """The contact, or None when it is not one of this tenant's."""
        return await repository.by_id(self.session, ctx.tenant.id, contact_id)

    async def by_email(self, ctx: TenantContext, email: str) -> Contact | None:
        return await repository.by_email(self.session, ctx.tenant.id, email.strip().lower())

    async def _check_email_free(
        self, ctx: TenantContext, email: str, but: uuid.UUID | None = None
    ) -> None:
        other = await repository.by_email(self.session, ctx.tenant.id, email)
        if other is not None and other.id != but:
            raise ValidationFailed("email", "is already used by another contact here")

    async def create(
        self,
        ctx: TenantContext,
        *,
        name: str,
        email: str,
        phone: str = "",
        job_title: str = "",
        actor: Actor,
    ) -> Contact:
        values = {
            "name": clean_name(name),
            "email": clean_email(email),
            "phone": clean_phone(phone),
            "job_title": clean_job_title(job_title),
        }
        await self._check_email_free(ctx, values["email"])
        contact = Contact(tenant_id=ctx.tenant.id, id=new_id(), **values)
        self.session.add(contact)
        await self.session.flush()
        await ServicePlanService(self.session).users_moved(ctx, 1)
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.CONTACT_CREATED,
            target_type="contact",
            target_id=contact.id,
            target_label=contact.name,
            changes=set_to(**values),
        )
        return contact

    async def update(
        self,
        ctx: TenantContext,
        contact_id: str | uuid.UUID,
        changes: ContactChanges,
        *,
        actor: Actor,
    ) -> Contact:
        contact = await self.get(ctx, contact_id)
        cleaned = {key: _CLEANERS[key](value) for key, value in changes.given().items()}
        if "email" in cleaned:
            await self._check_email_free(ctx, cleaned["email"], but=contact.id)
        diff = [(k, getattr(contact, k), v) for k, v in cleaned.items() if getattr(contact, k) != v]
        if not diff:
            return contact
        for key, _, new in diff:
            setattr(contact, key, new)
        await self.session.flush()
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.CONTACT_UPDATED,
            target_type="contact",
            target_id=contact.id,
            target_label=contact.name,
            changes=of_pairs(diff),
        )
        return contact

    async def import_csv(
        self,
        ctx: TenantContext,
        data: bytes,
        *,
        actor: Actor,
        max_bytes: int = MAX_IMPORT_BYTES,
    ) -> ImportReport:
        """Create a contact for every valid row; a row with any bad field is rejected whole
        and reported (line number, field, reason). Rows are checked before anything is
        written, so a rejected row leaves nothing behind."""
        if len(data) > max_bytes:
            raise ValidationFailed("file", f"is larger than {max_bytes / 2**20:g} MiB; split it")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed("file", "is not UTF-8 text") from exc
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        if not header:
            raise ValidationFailed("file", "is empty; the first line names the columns")
        unknown = [h for h in header if h not in IMPORT_COLUMNS]
        if unknown:
            raise ValidationFailed(
                "file",
                f"has unknown columns {', '.join(unknown)} (known: name, email, phone, job_title)",
            )
        for required in ("name", "email"):
            if required not in header:
                raise ValidationFailed("file", f"has no '{required}' column")
        reader.fieldnames = header

        rejected: list[RejectedRow] = []
        accepted: list[tuple[int, dict[str, str]]] = []
        for index, raw in enumerate(_rows(reader)):
            line = reader.line_num
            if index >= MAX_IMPORT_ROWS:
                raise ValidationFailed("file", f"has more than {MAX_IMPORT_ROWS} rows; split it")
            if None in raw:
                rejected.append(RejectedRow(row=line, field="file", reason="has extra cells"))
                continue
            values: dict[str, str] = {}
            try:
                for column, clean in _CLEANERS.items():
                    values[column] = clean(raw.get(column) or "")
            except ValidationFailed as exc:
                rejected.append(RejectedRow(row=line, field=exc.field, reason=exc.message))
                continue
            accepted.append((line, values))

        taken = await repository.existing_emails(
            self.session, ctx.tenant.id, (v["email"] for _, v in accepted)
        )
        seen: set[str] = set()
        created: list[Contact] = []
        for line, values in accepted:
            email = values["email"]
            if email in taken:
                rejected.append(
                    RejectedRow(row=line, field="email", reason="is already used by a contact")
                )
                continue
            if email in seen:
                rejected.append(
                    RejectedRow(row=line, field="email", reason="appears earlier in the file")
                )
                continue
            seen.add(email)
            contact = Contact(tenant_id=ctx.tenant.id, id=new_id(), **values)
            self.session.add(contact)
            created.append(contact)
        await self.session.flush()
        await ServicePlanService(self.session).users_moved(ctx, len(created))
        rejected.sort(key=lambda r: r.row)
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.CONTACTS_IMPORTED,
            # One event for the whole file: its target is the tenant's contact list.
            target_type="contacts",
            target_id=ctx.tenant.id,
            target_label=f"{len(created)} contacts",
            changes=set_to(
                created=len(created),
                rejected=len(rejected),
                contact_ids=[str(c.id) for c in created[:1000]],
            ),
        )
        return ImportReport(created=len(created), rejected=rejected)
