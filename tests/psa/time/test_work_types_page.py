"""Work types on the time page: a holder of ``rates:manage`` creates, renames,
re-prices, takes out of use and back; bad input names the field, keeps it and changes
nothing; a technician sees the list but no forms and is refused the post."""

from __future__ import annotations

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.psa.time.world import work_type, world


async def test_work_types_are_edited_on_the_time_page(
    settings: Settings, database: Database
) -> None:
    async with world(settings, database) as w:
        base = f"/t/{w.contoso}/time"
        created = await w.admin.post(
            f"{base}/work-types", data={"name": "Onsite", "rate": "120.00", "currency": "EUR"}
        )
        assert created.status_code == 303
        types = (await w.admin.get(w.api(w.contoso, "work-types"))).json()
        wt = next(t for t in types if t["name"] == "Onsite")["id"]
        other = await work_type(w, w.contoso, rate=9500)
        page = await w.admin.get(base)
        assert page.status_code == 200
        assert f'action="{base}/work-types/{wt}"' in page.text and 'value="120.00"' in page.text
        # Bad input: named, kept, nothing changed.
        bad = await w.admin.post(
            f"{base}/work-types/{wt}", data={"name": "Onsite visit", "rate": "-5", "active": "1"}
        )
        assert bad.status_code == 422
        assert f'id="wt-{wt}-rate-error"' in bad.text and 'value="-5"' in bad.text
        assert 'value="Onsite visit"' in bad.text
        taken = await w.admin.post(
            f"{base}/work-types/{wt}",
            data={"name": "Remote support 9500", "rate": "120", "active": "1"},
        )
        assert taken.status_code == 422 and f'id="wt-{wt}-name-error"' in taken.text
        empty = await w.admin.post(f"{base}/work-types/{wt}", data={"name": " ", "rate": "1"})
        assert empty.status_code == 422 and f'id="wt-{wt}-name-error"' in empty.text
        unchanged = {t["id"]: t for t in (await w.admin.get(w.api(w.contoso, "work-types"))).json()}
        assert unchanged[wt]["name"] == "Onsite" and unchanged[wt]["rate_minor"] == 12000
        assert unchanged[wt]["active"] is True and unchanged[other]["rate_minor"] == 9500
        # Rename, re-price, take out of use (the checkbox left empty), then back in.
        saved = await w.admin.post(
            f"{base}/work-types/{wt}", data={"name": "Onsite visit", "rate": "135.50"}
        )
        assert saved.status_code == 303 and saved.headers["location"] == base + "#work-types"
        now = {t["id"]: t for t in (await w.admin.get(w.api(w.contoso, "work-types"))).json()}
        assert now[wt]["name"] == "Onsite visit" and now[wt]["rate_minor"] == 13550
        assert now[wt]["active"] is False
        page = await w.admin.get(base)
        log_form = page.text.split('id="f-work_type_id"', 1)[1].split("</select>", 1)[0]
        assert "Onsite visit" not in log_form  # not offered for new time
        back = await w.admin.post(
            f"{base}/work-types/{wt}",
            data={"name": "Onsite visit", "rate": "135.50", "active": "1"},
        )
        assert back.status_code == 303
        active = (await w.admin.get(w.api(w.contoso, "work-types"), params={"active": True})).json()
        assert wt in {t["id"] for t in active}
        # Each change is one audit event in the client's trail.
        trail = await w.admin.get(
            f"/api/v1/tenants/{w.contoso}/audit-events", params={"action": "work_type.updated"}
        )
        assert trail.status_code == 200, trail.text
        assert len(trail.json()["items"]) == 2
        missing = await w.admin.post(
            f"{base}/work-types/00000000-0000-7000-8000-000000000000",
            data={"name": "x", "rate": "1"},
        )
        assert missing.status_code == 404


async def test_a_technician_reads_work_types_but_cannot_change_them(
    settings: Settings, database: Database
) -> None:
    async with world(settings, database) as w:
        wt = await work_type(w, w.contoso, rate=9500)
        base = f"/t/{w.contoso}/time"
        page = await w.tech.get(base)
        assert page.status_code == 200 and "Remote support 9500" in page.text
        assert f"/work-types/{wt}" not in page.text
        refused = await w.tech.post(
            f"{base}/work-types/{wt}", data={"name": "Cheap", "rate": "1.00", "active": "1"}
        )
        assert refused.status_code == 403
        types = (await w.tech.get(w.api(w.contoso, "work-types"))).json()
        assert [(t["name"], t["rate_minor"]) for t in types] == [("Remote support 9500", 9500)]
