"""`tenantry roles …` and `tenantry grants …`, on both databases."""

from __future__ import annotations

import json

import pytest

from tests.access.conftest import World
from tests.harness.cli import Cli


async def test_roles_list_create_and_delete(world: World, cli: Cli) -> None:
    code, out, _ = await cli.run("roles", "list", "--tenant", "northwind", "--json")
    assert code == 0
    assert [r["key"] for r in json.loads(out)][:2] == ["owner", "admin"]

    code, out, err = await cli.run(
        "roles",
        "create",
        "--tenant",
        "northwind",
        "--name",
        "Patch crew",
        "-p",
        "tenant:read",
        "-p",
        "tickets:write",
        "--json",
    )
    assert code == 0, err
    role = json.loads(out)
    assert role["permissions"] == ["tenant:read", "tickets:write"]
    code, out, _ = await cli.run(
        "roles",
        "create",
        "--tenant",
        "northwind",
        "--name",
        "Support copy",
        "--clone-from",
        "1st Level Support",
    )
    assert code == 0 and out.startswith("created custom:")
    code, out, _ = await cli.run("roles", "list", "--tenant", "northwind")
    assert "Patch crew" in out and "Support copy" in out

    # In use: refused, naming the grants; then deleted by name once unused.
    code, out, err = await cli.run(
        "grants",
        "create",
        "--tenant",
        "northwind",
        "--user",
        "tina@northwind.example",
        "--role",
        "Patch crew",
        "--scope",
        "customer",
        "--customer",
        "contoso-ltd",
        "--json",
    )
    assert code == 0, err
    grant = json.loads(out)
    assert grant["scope_label"] == "in the customer Contoso Ltd"
    code, _, err = await cli.run("roles", "delete", "--tenant", "northwind", "Patch crew")
    assert code == 2
    assert "Patch crew is used by 1 active grant(s)" in err
    assert f"{grant['id']}  active   tina@northwind.example: Patch crew in the customer" in err
    assert (await cli.run("grants", "revoke", "--tenant", "northwind", grant["id"]))[0] == 0
    code, out, _ = await cli.run("roles", "delete", "--tenant", "northwind", "Patch crew")
    assert code == 0 and out.startswith(f"deleted {role['key']}")


async def test_grants_create_list_and_revoke(world: World, cli: Cli) -> None:
    code, out, err = await cli.run(
        "grants",
        "create",
        "--tenant",
        "northwind",
        "--user",
        "sam@northwind.example",
        "--role",
        "read_only",
        "--scope",
        "all_customers",
        "--exclude",
        "tailspin-toys",
        "--expires",
        "2999-01-01T00:00:00Z",
        "--json",
    )
    assert code == 0, err
    grant = json.loads(out)
    assert grant["scope_label"] == "in every customer except Tailspin Toys"
    assert await world.tenants_of("sam") == ["northwind", "contoso-ltd", "fabrikam-inc"]

    code, out, _ = await cli.run(
        "grants", "list", "--tenant", "northwind", "--scope", "all_customers", "--json"
    )
    assert [g["id"] for g in json.loads(out)] == [grant["id"]]
    code, out, _ = await cli.run(
        "grants", "list", "--tenant", "northwind", "--user", "sam@northwind.example"
    )
    assert out.count("\n") == 2 and "Read-only in every customer except Tailspin Toys" in out

    code, out, _ = await cli.run("grants", "revoke", "--tenant", "northwind", grant["id"], "--json")
    assert code == 0 and json.loads(out)["status"] == "revoked"
    assert await world.tenants_of("sam") == ["northwind"]
    code, out, _ = await cli.run(
        "grants",
        "list",
        "--tenant",
        "northwind",
        "--scope",
        "all_customers",
        "--include-revoked",
    )
    assert "revoked" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("grants", "create", "--tenant", "nope", "--user", "x@y.example", "--role", "admin"),
            "no tenant with the slug 'nope'",
        ),
        (
            (
                "grants",
                "create",
                "--tenant",
                "northwind",
                "--user",
                "ghost@x.example",
                "--role",
                "admin",
            ),
            "user: no user with that id or email at home in Northwind IT",
        ),
        (
            (
                "grants",
                "create",
                "--tenant",
                "northwind",
                "--user",
                "tina@northwind.example",
                "--role",
                "wizard",
            ),
            "--role: no role 'wizard' here",
        ),
        (
            (
                "grants",
                "create",
                "--tenant",
                "contoso-ltd",
                "--user",
                "carol@contoso.example",
                "--role",
                "admin",
                "--scope",
                "all_customers",
            ),
            "scope: Contoso Ltd is not an MSP",
        ),
        (
            (
                "grants",
                "create",
                "--tenant",
                "northwind",
                "--user",
                "tina@northwind.example",
                "--role",
                "admin",
                "--expires",
                "tomorrow",
            ),
            "--expires: 'tomorrow' is not an RFC 3339",
        ),
        (
            (
                "grants",
                "create",
                "--tenant",
                "northwind",
                "--user",
                "tina@northwind.example",
                "--role",
                "admin",
                "--expires",
                "2001-01-01T00:00:00Z",
            ),
            "expires_at: must be in the future",
        ),
        (
            ("grants", "revoke", "--tenant", "northwind", "not-an-id"),
            "grant id: 'not-an-id' is not an id",
        ),
        (
            ("grants", "revoke", "--tenant", "northwind", "00000000-0000-0000-0000-000000000000"),
            "No such grant.",
        ),
        (
            ("roles", "create", "--tenant", "northwind", "--name", "X"),
            "give --permission (one or more) or --clone-from",
        ),
        (
            ("roles", "create", "--tenant", "northwind", "--name", "X", "-p", "tickets:fly"),
            "permissions: unknown permission 'tickets:fly'",
        ),
        (
            ("roles", "delete", "--tenant", "northwind", "technician"),
            "role: built-in roles cannot be deleted",
        ),
    ],
)
async def test_clear_errors_and_a_non_zero_exit(
    world: World, cli: Cli, args: tuple[str, ...], message: str
) -> None:
    before = await world.grants_count()
    code, _, err = await cli.run(*args)
    assert code != 0
    assert message in err, err
    assert await world.grants_count() == before


async def test_help_names_every_command(cli: Cli) -> None:
    for group, commands in (
        ("roles", ("list", "create", "delete")),
        ("grants", ("create", "list", "revoke")),
    ):
        code, out, _ = await cli.run(group, "--help")
        assert code == 0
        assert all(c in out for c in commands)
