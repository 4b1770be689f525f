"""The operator's `tenantry` command, on both databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.harness.cli import Cli


def test_operator_sets_up_an_msp_and_its_first_admin(cli: Cli) -> None:
    code, out, _ = cli("tenants", "create", "Northwind IT", "--msp", "--json")
    assert code == 0
    tenant = json.loads(out)
    assert tenant["slug"] == "northwind-it" and tenant["is_msp"] is True

    code, out, _ = cli(
        "users",
        "create",
        "--tenant",
        "northwind-it",
        "--email",
        "Alex@Northwind.example",
        "--name",
        "Alex Admin",
        "--password",
        "a long enough password",
        "--json",
    )
    assert code == 0, out
    assert json.loads(out)["email"] == "alex@northwind.example"

    code, out, _ = cli("tokens", "create", "--user", "alex@northwind.example", "--json")
    assert code == 0
    assert json.loads(out)["token"].startswith("tnt_")

    code, out, _ = cli("tenants", "license", "northwind-it", "--msp", "off", "--json")
    assert code == 0 and json.loads(out)["is_msp"] is False

    code, out, _ = cli("tenants", "list", "--json")
    assert [t["slug"] for t in json.loads(out)] == ["northwind-it"]
    code, out, _ = cli("tenants", "list")
    assert "northwind-it" in out


def test_password_can_come_from_stdin(cli: Cli) -> None:
    cli("tenants", "create", "Initech")
    code, out, _ = cli(
        "users",
        "create",
        "--tenant",
        "initech",
        "--email",
        "ian@initech.example",
        "--name",
        "Ian",
        input="a long enough password\n",
    )
    assert code == 0, out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tenants", "create", "www"), "name: 'www' is reserved"),
        (("tenants", "license", "nope", "--msp", "on"), "no tenant with the slug 'nope'"),
        (("tenants", "license", "nope", "--msp", "maybe"), "--msp: must be 'on' or 'off'"),
        (
            (
                "users",
                "create",
                "--tenant",
                "nope",
                "--email",
                "a@b.example",
                "--name",
                "A",
                "--password",
                "a long enough password",
            ),
            "no tenant with the slug 'nope'",
        ),
        (
            (
                "users",
                "create",
                "--tenant",
                "nope",
                "--email",
                "a@b.example",
                "--name",
                "A",
                "--role",
                "wizard",
                "--password",
                "x",
            ),
            "--role: unknown role 'wizard'",
        ),
        (("tokens", "create", "--user", "nobody@example.com"), "no user with the email"),
    ],
)
def test_bad_input_exits_non_zero_with_a_clear_message(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    code, out, err = cli(*args)
    assert code != 0
    assert message in err
    code, out, _ = cli("tenants", "list", "--json")
    assert json.loads(out) == []


def test_short_password_is_refused_and_creates_nothing(cli: Cli) -> None:
    cli("tenants", "create", "Initech")
    code, _, err = cli(
        "users",
        "create",
        "--tenant",
        "initech",
        "--email",
        "ian@initech.example",
        "--name",
        "Ian",
        "--password",
        "short",
    )
    assert code != 0 and "password: must be at least 12 characters" in err
    code, _, err = cli("tokens", "create", "--user", "ian@initech.example")
    assert code != 0 and "no user with the email" in err


def test_every_command_has_help(cli: Cli) -> None:
    for args in (
        [],
        ["serve"],
        ["tenants"],
        ["tenants", "create"],
        ["tenants", "list"],
        ["tenants", "license"],
        ["users", "create"],
        ["tokens", "create"],
        ["db", "upgrade"],
    ):
        result = cli(*args, "--help")
        assert result.exit_code == 0, args
        assert "Usage" in result.stdout


async def test_db_status_says_whether_isolation_is_in_force(
    cli: Cli, backend: str, owner_engine: AsyncEngine
) -> None:
    code, out, _ = await cli.run("db", "status", "--json")
    assert code == 0, out
    status = json.loads(out)
    assert status["ok"] is True and status["problems"] == []
    assert status["revision"] == status["head"] and status["backend"] in ("sqlite", "postgresql")
    code, out, _ = await cli.run("db", "status")
    assert code == 0 and "isolation: in force" in out
    if backend != "postgres":
        return
    # Drift an operator could cause by hand: the app role inherits the multi role's policy.
    role = status["app_role"]

    async def inherit(on: bool) -> None:
        async with owner_engine.connect() as conn:
            await conn.execute(text(f'ALTER ROLE "{role}" {"INHERIT" if on else "NOINHERIT"}'))
            await conn.commit()

    await inherit(True)
    try:
        code, out, _ = await cli.run("db", "status")
        assert code == 1 and "problem:" in out and "INHERIT" in out.upper(), out
    finally:
        await inherit(False)
