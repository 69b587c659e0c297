"""schemathesis against /api/v1/openapi.json of a real `helpdesk serve`: no input gives a 5xx.

Positive and negative data (values the document forbids: wrong types, out-of-range ids, missing or
unknown fields), in the fuzzing phase in-process and in the examples and coverage phases (boundary
values, each constraint broken in turn) through the `st` command line.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis.openapi
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy import select

from helpdesk.app.intake.service import IntakeService
from helpdesk.app.portal.signin import LinkPurpose, PortalAuth
from helpdesk.app.quarantine.service import QuarantineService
from helpdesk.app.staff.accounts import UserService
from helpdesk.app.staff.sessions import AuthService
from helpdesk.app.tickets.canned import CannedService
from helpdesk.db import migrate
from helpdesk.db.engine import Database
from helpdesk.db.tables import Attachment
from helpdesk.domain.values import StaffRole
from helpdesk.ports import SystemClock
from tests.support.processes import ServeProcess
from tests.support.web import attachment, mail

pytestmark = pytest.mark.slow
PORTAL = "/api/v1/portal/"


async def _seed(url: str) -> tuple[str, dict[str, int], str]:
    """An administrator's token (admin routes reach their handlers too), existing ids for each path
    parameter (tickets with two requester messages and an attachment, a canned response, a held mail), and a
    requester's portal token (the requester of the seeded tickets)."""
    db = Database(url)
    clock = SystemClock()
    try:
        users = UserService(db, clock)
        staff = await users.add("api@craig.fr", StaffRole.ADMIN, "motdepasse-solide")
        intake = IntakeService(db, clock)
        first = await intake.receive(mail("<api0@x>"))
        second = await intake.receive(mail("<api1@x>", in_reply_to=("<api0@x>",), subject="RE: budget",
                                           attachments=(attachment("a.csv", "text/csv", b"a;b\n1;2\n"),)))
        await intake.receive(mail("<api2@x>", sender_email="autre@y.fr"))
        assert first.ticket_number is not None and second.message_id is not None
        canned = await CannedService(db, clock).save(None, "Accusé", "Bien reçu.")
        held = await QuarantineService(db, clock).hold(channel="email", raw=b"junk", reason="illisible")
        async with db.transaction() as s:
            att = (await s.scalars(select(Attachment))).first()
        assert att is not None and att.id is not None
        ids = {"number": first.ticket_number, "message": second.message_id, "attachment": att.id, "id": canned,
               "held": held}
        portal = PortalAuth(db, clock, public_url="http://127.0.0.1")
        link = await portal.mint(mail("<x>").sender_email or "", LinkPurpose.SIGNIN)
        requester, _ = await portal.sign_in(link, kind="api")
        return await AuthService(db, clock, users).create_api_token(staff, "schemathesis"), ids, requester
    finally:
        await db.dispose()


def _existing(path: str, ids: dict[str, int]) -> dict[str, int]:
    """Path parameters naming seeded rows (``{id}`` is a canned response, or a held mail under /quarantine)."""
    values = {name: ids[name] for name in ("number", "message", "attachment") if f"{{{name}}}" in path}
    if "{id}" in path:
        values["id"] = ids["held"] if path.startswith("/api/v1/quarantine/") else ids["id"]
    return values


def _fuzz(op: Any, base: str, auth: dict[str, str], failures: list[str], mode: GenerationMode,
          ids: dict[str, int]) -> None:
    # Half the cases on rows that exist, so that bodies reach the handlers.
    known = _existing(op.path, ids)
    existing = op.as_strategy(mode, path_parameters=known) if known else None
    strategy = op.as_strategy(mode) if existing is None else op.as_strategy(mode) | existing

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case: Any) -> None:
        resp = case.call(base_url=base, headers=auth, timeout=10)
        if resp.status_code >= 500:
            failures.append(f"{op.label}: {resp.status_code} for {case!r}")

    try:
        check()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise  # an operation without parameters or body has no negative data: nothing to break


@pytest.mark.timeout(600)
def test_no_server_error_on_any_generated_request(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'helpdesk.sqlite3'}"
    migrate.upgrade(url)
    token, ids, requester = asyncio.run(_seed(url))
    serve = ServeProcess(url, tmp_path, HELPDESK_SMTP_ENABLED="false")
    serve.start()
    base = f"http://127.0.0.1:{serve.http_port}"
    auth = {"Authorization": f"Bearer {token}"}
    portal_auth = {"Authorization": f"Bearer {requester}"}  # /api/v1/portal/: a requester's token
    try:
        doc = requests.get(f"{base}/api/v1/openapi.json", headers=auth, timeout=10).json()
        schema = schemathesis.openapi.from_dict(doc)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20
        failures: list[str] = []
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for op in operations:
                if op.method.upper() == "DELETE" and op.path.startswith(PORTAL):
                    continue  # signing out would end the fuzzing's own session
                _fuzz(op, base, portal_auth if op.path.startswith(PORTAL) else auth, failures, mode, ids)
        assert failures == []
        for header, only in ((auth, ["--exclude-path-regex", f"^{PORTAL}"]),
                             (portal_auth, ["--include-path-regex", f"^{PORTAL}", "--exclude-method", "DELETE"])):
            cli = subprocess.run(  # noqa: S603 - our own virtualenv's schemathesis
                [str(Path(sys.executable).with_name("st")), "run", f"{base}/api/v1/openapi.json",
                 "--checks", "not_a_server_error", "--mode", "all", "--phases", "examples,coverage,fuzzing",
                 "--max-examples", "20", "--seed", "1", "--request-timeout", "10", "-H",
                 f"Authorization: {header['Authorization']}", "--suppress-health-check", "all", *only],
                capture_output=True, text=True, timeout=500, check=False, cwd=tmp_path,
            )
            assert cli.returncode == 0, cli.stdout[-6000:] + cli.stderr[-2000:]
        # Without a token, every API route but the document itself and the portal's sign-in is refused.
        for op in operations:
            if op.path == "/api/v1/openapi.json" or op.definition.raw.get("security") == []:
                continue
            path = op.path
            for name, value in _existing(op.path, ids).items():
                path = path.replace(f"{{{name}}}", str(value))
            assert requests.request(op.method.upper(), f"{base}{path}", timeout=10).status_code == 401
    finally:
        serve.stop()
