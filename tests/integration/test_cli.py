"""The `helpdesk` command as a user runs it: a real process on a real database file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from helpdesk.app.intake.messages import InboundAttachment, InboundMessage
from helpdesk.app.intake.service import IntakeService
from helpdesk.db.engine import Database
from helpdesk.domain.values import Channel
from helpdesk.ports import FixedClock


def run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", *args], env=env, input=stdin, capture_output=True, text=True,
        timeout=60, check=False,
    )


def cli_env(url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(HELPDESK_DATABASE_URL=url, HELPDESK_DATA_DIR=str(tmp_path))
    return env


async def test_ticket_json_shows_a_ticket_created_through_intake(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    res = await IntakeService(db, clock).receive(
        InboundMessage(
            channel=Channel.EMAIL, external_id="<cli@x>", sender_email="Paul@Mairie.fr", sender_name="Paul",
            subject="Fiche de métadonnées",
            visible_text="Quels champs remplir ?",
            full_text="Quels champs remplir ?\n> q",
            attachments=(InboundAttachment("fiche.xml", "application/xml", b"<x/>"),),
        )
    )
    env = cli_env(db.url, tmp_path)
    out = run(["ticket", str(res.ticket_number), "--json"], env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["number"] == res.ticket_number and data["subject"] == "Fiche de métadonnées"
    assert data["requester"]["email"] == "paul@mairie.fr"
    assert data["messages"][0]["text"] == "Quels champs remplir ?"
    assert data["messages"][0]["attachments"][0]["filename"] == "fiche.xml"
    assert set(data["sla"]) == {"policy", "first_response_due", "resolution_due", "first_response_breached",
                                "resolution_breached", "paused"}
    listing = run(["tickets", "--json"], env)
    assert [t["number"] for t in json.loads(listing.stdout)] == [res.ticket_number]
    text = run(["ticket", str(res.ticket_number)], env).stdout
    assert "statut : Nouveau  priorité : normale  canal : email" in text and "--- reçu · email · " in text


async def test_user_errors_are_one_line_without_traceback(db: Database, tmp_path: Path) -> None:
    env = cli_env(db.url, tmp_path)
    out = run(["ticket", "99999"], env)
    assert out.returncode == 1
    assert out.stderr.strip() == ("helpdesk: ticket n° 99999 introuvable : les numéros de ticket commencent à 1000 "
                                  "(`helpdesk tickets` les liste)")
    bad = run(["config"], {**env, "HELPDESK_HTTP_PORT": "huit"})
    assert bad.returncode == 1 and "HELPDESK_HTTP_PORT" in bad.stderr and "Traceback" not in bad.stderr


async def test_user_add_reads_password_from_stdin(db: Database, tmp_path: Path) -> None:
    env = cli_env(db.url, tmp_path)
    ok = run(["user", "add", "anne@craig.fr", "--role", "admin"], env, stdin="un-mot-de-passe-long\n")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("Compte anne@craig.fr créé (n° ") and "rôle administrateur" in ok.stdout
    again = run(["user", "add", "Anne@craig.fr"], env, stdin="un-mot-de-passe-long\n")
    assert again.returncode == 1 and again.stderr.strip() == "helpdesk: un compte existe déjà pour anne@craig.fr"
    bad = run(["user", "add", "anne-at-craig"], env, stdin="un-mot-de-passe-long\n")
    assert bad.returncode == 1 and bad.stderr.strip() == "helpdesk: adresse électronique invalide : anne-at-craig"
    generated = run(["user", "add", "paul@craig.fr"], env, stdin="\n")
    assert generated.returncode == 0 and "Mot de passe (affiché une seule fois) : " in generated.stdout
    from helpdesk.app.staff.accounts import UserService

    users = UserService(db, FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    assert await users.authenticate("anne@craig.fr", "un-mot-de-passe-long")
    assert not await users.authenticate("anne@craig.fr", "mauvais-mot-de-passe")


def test_temporary_storage_failure_exits_75(tmp_path: Path) -> None:
    env = cli_env("postgresql+asyncpg://nobody@127.0.0.1:1/none", tmp_path)
    out = run(["tickets"], env)
    assert out.returncode == 75, out.stderr
    assert "helpdesk: échec temporaire, réessayez plus tard" in out.stderr


def test_config_prints_values_as_written_in_the_environment(tmp_path: Path) -> None:
    env = cli_env("sqlite+aiosqlite:///var/x.sqlite3", tmp_path)
    env["HELPDESK_MAIL_ADDRESSES"] = "assistance@craig.fr, contact@craig.fr"
    out = run(["config"], env)
    assert out.returncode == 0, out.stderr
    values = dict(line.split("=", 1) for line in out.stdout.splitlines())
    assert values["HELPDESK_MAIL_ADDRESSES"] == "assistance@craig.fr,contact@craig.fr"
    assert values["HELPDESK_SMTP_ENABLED"] == "true" and values["HELPDESK_LOG_JSON"] == "false"
    assert values["HELPDESK_SMTP_RELAY_HOST"] == "" and values["HELPDESK_IMAP_INTERVAL"] == "60"
    assert not any(v in ("None", "True", "False") or v.startswith("[") for v in values.values())
    # what it prints can be fed back as the environment and gives the same settings
    again = run(["config"], {k: v for k, v in {**env, **values}.items() if v != ""})
    assert again.stdout == out.stdout


def test_db_upgrade_says_what_it_did(tmp_path: Path) -> None:
    env = cli_env(f"sqlite+aiosqlite:///{tmp_path / 'new.sqlite3'}", tmp_path)
    first = run(["db", "upgrade"], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Base de données créée (sqlite+aiosqlite:///") and " tables, schéma en version " \
        in first.stdout and "commencent à 1000" in first.stdout
    second = run(["db", "upgrade"], env)
    assert second.stdout.startswith("La base de données est déjà à jour (schéma en version ")


def test_config_masks_secrets(tmp_path: Path) -> None:
    env = cli_env("postgresql+asyncpg://app:s3cret@db/helpdesk", tmp_path)
    env["HELPDESK_TELEGRAM_TOKEN"] = "123:ABC"
    out = run(["config"], env)
    assert out.returncode == 0
    assert "s3cret" not in out.stdout and "123:ABC" not in out.stdout
    assert "HELPDESK_TELEGRAM_TOKEN=********" in out.stdout
