"""The operator's `tenantry` command, on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tenantry.cli.main import app
from tenantry.config import Settings, get_settings


@pytest.fixture
def cli(settings: Settings) -> Iterator[CliRunner]:
    """A runner whose environment points the CLI at the test database."""
    env = {"TENANTRY_DATABASE_URL": settings.database_url, "TENANTRY_LOG_LEVEL": "WARNING"}
    if settings.app_database_url:
        env["TENANTRY_APP_DATABASE_URL"] = settings.app_database_url
    get_settings.cache_clear()
    yield CliRunner(env=env)
    get_settings.cache_clear()


def invoke(cli: CliRunner, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_operator_sets_up_an_msp_and_its_first_admin(cli: CliRunner) -> None:
    code, out, _ = invoke(cli, "tenants", "create", "Northwind IT", "--msp", "--json")
    assert code == 0
    tenant = json.loads(out)
    assert tenant["slug"] == "northwind-it" and tenant["is_msp"] is True

    code, out, _ = invoke(
        cli,
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

    code, out, _ = invoke(cli, "tokens", "create", "--user", "alex@northwind.example", "--json")
    assert code == 0
    assert json.loads(out)["token"].startswith("tnt_")

    code, out, _ = invoke(cli, "tenants", "license", "northwind-it", "--msp", "off", "--json")
    assert code == 0 and json.loads(out)["is_msp"] is False

    code, out, _ = invoke(cli, "tenants", "list", "--json")
    assert [t["slug"] for t in json.loads(out)] == ["northwind-it"]
    code, out, _ = invoke(cli, "tenants", "list")
    assert "northwind-it" in out


def test_password_can_come_from_stdin(cli: CliRunner) -> None:
    invoke(cli, "tenants", "create", "Initech")
    code, out, _ = invoke(
        cli,
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
    cli: CliRunner, args: tuple[str, ...], message: str
) -> None:
    code, out, err = invoke(cli, *args)
    assert code != 0
    assert message in err
    code, out, _ = invoke(cli, "tenants", "list", "--json")
    assert json.loads(out) == []


def test_short_password_is_refused_and_creates_nothing(cli: CliRunner) -> None:
    invoke(cli, "tenants", "create", "Initech")
    code, _, err = invoke(
        cli,
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
    code, _, err = invoke(cli, "tokens", "create", "--user", "ian@initech.example")
    assert code != 0 and "no user with the email" in err


def test_every_command_has_help(cli: CliRunner) -> None:
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
        result = cli.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, args
        assert "Usage" in result.stdout
