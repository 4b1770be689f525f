"""Plan limits in a real headless Chromium (SQLite): an MSP at its client-tenant limit is
refused a new client with the limit and the plan named on the page, asks for a bigger
plan on its Billing and subscription page, the operator approves from the CLI (the Typer
app against the same database), and the creation then succeeds."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from typer.testing import CliRunner, Result

from tenantry.access.service import operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.billing.plans import PlanService
from tenantry.billing.schemas import PlanIn
from tenantry.billing.service import SubscriptionService
from tenantry.cli.main import app as cli_app
from tenantry.config import Settings, get_settings
from tenantry.db.engine import Database
from tests.factories import make_tenant, make_user
from tests.harness.browser import check_layout, serve, shot, sign_in
from tests.harness.world import add_customer

pytestmark = pytest.mark.browser

OWNER = "olive@northwind.example"
USED: dict[str, str] = {}


async def _seed(settings: Settings) -> None:
    USED["database_url"] = settings.database_url
    db = Database(settings)
    try:
        msp = await make_tenant(db, "northwind-it", is_msp=True, display_name="Northwind IT")
        owner = await make_user(db, msp, OWNER, role="owner", display_name="Olive Owner")
        await add_customer(db, msp, owner, "Contoso Ltd")
        await add_customer(db, msp, owner, "Fabrikam Inc")
        async with db.unit_of_work(operator_scope([msp.id])) as session:
            plans = PlanService(session)
            await plans.create(PlanIn(name="Small", max_clients=2, max_seats=5))
            await plans.create(PlanIn(name="Growth", max_clients=25, max_seats=10))
            msp = await session.merge(msp)
            await SubscriptionService(session).subscribe(msp, "Small", actor=OPERATOR)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory, _seed) as url:
        yield url


def _operator(*args: str) -> str:
    get_settings.cache_clear()
    runner = CliRunner(
        env={"TENANTRY_DATABASE_URL": USED["database_url"], "TENANTRY_LOG_LEVEL": "WARNING"}
    )
    # Its own thread: Playwright's sync API keeps an event loop running in this one.
    done: list[Result] = []
    worker = threading.Thread(target=lambda: done.append(runner.invoke(cli_app, list(args))))
    worker.start()
    worker.join()
    (result,) = done
    get_settings.cache_clear()
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_at_the_limit_ask_for_more_and_create_after_approval(browser: Browser, server: str) -> None:
    page = sign_in(browser, server, OWNER)
    page.goto(server + "/msp/customers")
    page.get_by_label("Name", exact=True).fill("Tailspin Toys")
    page.get_by_role("button", name="Create customer").click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("The plan 'Small' allows 2 client tenants")
    check_layout(page)
    shot(page, "plan-limit-refused-laptop")

    page.get_by_role("link", name="Billing and subscription").click()
    expect(page.locator("[data-testid=plan-name]")).to_have_text("Small")
    expect(page.locator("tr[data-limit=clients]")).to_contain_text("100%")
    page.get_by_label("Plan").select_option("Growth")
    page.get_by_label("Note to the operator").fill("We signed a third client")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_text("Your request was sent to the instance operator.")).to_be_visible()
    expect(page.locator("[data-testid=request-status]").first).to_contain_text("pending")
    check_layout(page)
    shot(page, "plan-billing-laptop")

    (pending,) = json.loads(_operator("plans", "requests", "--json"))
    assert (pending["msp"], pending["plan"]) == ("northwind-it", "Growth")
    _operator("plans", "requests", "approve", pending["id"], "--note", "Welcome to Growth")

    page.reload()
    expect(page.locator("[data-testid=plan-name]")).to_have_text("Growth")
    expect(page.locator("[data-testid=request-status]").first).to_contain_text("approved")
    page.goto(server + "/msp/customers")
    page.get_by_label("Name", exact=True).fill("Tailspin Toys")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("cell", name="tailspin-toys")).to_be_visible()
