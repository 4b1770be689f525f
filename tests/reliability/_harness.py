"""Shared parts of the reliability suite: fresh PostgreSQL databases, a seeded instance
(an MSP with an admin, a delegated technician and a customer with its own admin, each
with an API token made through the services), and the real server in a subprocess.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import select
from sqlalchemy.engine import make_url

from tenantry.access.models import GrantScope
from tenantry.access.service import AccessService, create_grant, operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.db.migrate import upgrade
from tenantry.identity.models import User
from tenantry.identity.service import IdentityService, principal_of
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.service import TenancyService

SECRET = "reliability-secret-key-not-for-production-0123456789"
PASSWORD = "correct horse battery staple"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REPO = Path(__file__).resolve().parents[2]


def long_pass() -> bool:
    """``TENANTRY_RELIABILITY_LONG=1``: the long pass (more examples, longer loads)."""
    return os.environ.get("TENANTRY_RELIABILITY_LONG", "") not in ("", "0")


def postgres_url() -> str:
    return os.environ.get("TENANTRY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def plain_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url.replace("postgres://", "postgresql://", 1)).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def create_database(server_url: str, prefix: str) -> str:
    """A fresh database on ``server_url``; returns its owner DSN."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(plain_dsn(server_url), timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return plain_dsn(server_url, name)


async def drop_database(owner_dsn: str) -> None:
    name = make_url(owner_dsn).database
    conn = await asyncpg.connect(plain_dsn(owner_dsn, "postgres"), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def settings_for(owner_dsn: str) -> Settings:
    return Settings(database_url=owner_dsn, secret_key=SECRET, log_level="WARNING")


@dataclass
class Seeded:
    msp: str
    customer: str
    customer_id: str
    admin_token: str
    technician_token: str
    customer_admin_token: str


async def _user(
    db: Database, settings: Settings, home: Tenant, email: str, role: str
) -> tuple[User, str]:
    async with db.unit_of_work(operator_scope([home.id])) as session:
        identity = IdentityService(session, settings)
        user = await identity.create_user(
            home=home,
            email=email,
            display_name=email.split("@")[0].title(),
            password=PASSWORD,
            actor=OPERATOR,
        )
        await create_grant(
            session,
            issuer_tenant_id=home.id,
            user_id=user.id,
            role=role,
            scope=GrantScope.HOME,
            actor=OPERATOR,
        )
        token, _ = await identity.create_api_token(
            user, name="reliability", expires_in_days=1, actor=OPERATOR
        )
    return user, token


async def seed(settings: Settings) -> Seeded:
    """Migrate, then: MSP "Rel MSP" (admin), customer "Rel Client" (its own admin), and
    a technician delegated to the customer as Technician. Everything via the services."""
    await upgrade(settings)
    db = Database(settings)
    try:
        async with db.unit_of_work(operator_scope([])) as session:
            msp = await TenancyService(session).create_tenant(
                name="Rel MSP",
                display_name=None,
                is_msp=True,
                actor=OPERATOR,
                slug="rel-msp",
                require_mfa_for_clients=False,
            )
        admin, admin_token = await _user(db, settings, msp, "admin@rel-msp.example", "admin")
        tech, tech_token = await _user(db, settings, msp, "tech@rel-msp.example", "technician")
        async with db.platform_reader() as session:
            ctx = await AccessService(session).context_in(
                principal_of(admin, msp, auth_method="cli"), msp
            )
        async with db.unit_of_work(operator_scope([msp.id])) as session:
            customer = await TenancyService(session).create_customer(
                ctx, name="Rel Client", display_name=None, actor=OPERATOR, slug="rel-client"
            )
        async with db.unit_of_work(operator_scope([msp.id, customer.id])) as session:
            await create_grant(
                session,
                issuer_tenant_id=msp.id,
                user_id=tech.id,
                role="technician",
                scope=GrantScope.CUSTOMER,
                customer_tenant_id=customer.id,
                actor=OPERATOR,
            )
        _, customer_token = await _user(db, settings, customer, "admin@rel-client.example", "admin")
        async with db.platform_reader() as session:
            assert await session.scalar(select(User).where(User.id == tech.id)) is not None
    finally:
        await db.dispose()
    return Seeded(
        msp=msp.slug,
        customer=customer.slug,
        customer_id=str(customer.id),
        admin_token=admin_token,
        technician_token=tech_token,
        customer_admin_token=customer_token,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``uvicorn tenantry.asgi:app`` (uvloop, httptools) in a subprocess of its own."""

    def __init__(self, owner_dsn: str, *, workers: int = 1, log: Path | None = None) -> None:
        self.owner_dsn = owner_dsn
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TENANTRY_DATABASE_URL": self.owner_dsn,
            "TENANTRY_SECRET_KEY": SECRET,
            "TENANTRY_LOG_LEVEL": "WARNING",
        }

    def start(self, *, wait_ready: bool = True, timeout: float = 120) -> None:
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tenantry.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--no-server-header",
                "--workers",
                str(self.workers),
                "--log-level",
                "warning",
            ],
            env=self.env(),
            cwd=REPO,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        path = "/readyz" if wait_ready else "/healthz"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                if httpx.get(self.base + path, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not up within {timeout} s")

    def kill9(self) -> None:
        """SIGKILL the server and its workers (its own process group): no cleanup at all."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def tenantry_cli(
    owner_dsn: str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the ``tenantry`` command against the database (as an operator would)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "tenantry"), *args],
        env={**os.environ, "TENANTRY_DATABASE_URL": owner_dsn, "TENANTRY_SECRET_KEY": SECRET},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
