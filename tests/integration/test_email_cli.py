"""`helpdesk ingest` and `helpdesk quarantine` as real processes, on both databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from helpdesk.db.engine import Database

MAIL = (
    "From: Paul Durand <paul@mairie-exemple.fr>\r\nTo: assistance@craig.fr\r\nSubject: {subject}\r\n"
    "Message-ID: {mid}\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    "Bonjour, o\xf9 publier la d\xe9lib\xe9ration ?\r\n"
)


def mail_bytes(mid: str, subject: str = "Délibération") -> bytes:
    return MAIL.format(mid=mid, subject=subject).encode("latin-1")


def run(args: list[str], env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "helpdesk.cli", *args], env=env, input=stdin,
                          capture_output=True, timeout=90, check=False)


def cli_env(url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(HELPDESK_DATABASE_URL=url, HELPDESK_DATA_DIR=str(tmp_path))
    return env


def lines(out: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.stdout.decode().splitlines()]


async def test_ingest_prints_one_json_line_per_message(db: Database, tmp_path: Path) -> None:
    env = cli_env(db.url, tmp_path)
    first, second = tmp_path / "1.eml", tmp_path / "2.eml"
    first.write_bytes(mail_bytes("<c1@x>"))
    second.write_bytes(mail_bytes("<c2@x>", subject="RE: [#1000] Délibération"))
    out = run(["ingest", str(first), str(second), "-"], env, stdin=b"not a mail at all")
    assert out.returncode == 0, out.stderr
    got = lines(out)
    assert [(g["file"], g["action"], g["ticket"]) for g in got] == [
        (str(first), "created", 1000), (str(second), "appended", 1000), ("-", "ignored", None)]
    assert "subject tag" in str(got[1]["reason"]) and "quarantined" in str(got[2]["reason"])
    again = run(["ingest", str(first)], env)
    assert lines(again) == [{"file": str(first), "action": "duplicate", "ticket": 1000, "reason": "already received"}]
    shown = json.loads(run(["ticket", "1000", "--json"], env).stdout)
    assert shown["messages"][0]["text"] == "Bonjour, où publier la délibération ?"
    held = run(["quarantine", "list", "--json"], env)
    [item] = json.loads(held.stdout)
    assert item["status"] == "held" and item["reason"] == "aucun champ d'en-tête"
    received = datetime.fromisoformat(str(item["received_at"]))
    assert received.utcoffset() == timedelta(0)  # JSON: ISO 8601 with its offset
    for tz, expected in (("Europe/Paris", received.astimezone(ZoneInfo("Europe/Paris"))), ("UTC", received)):
        text = run(["quarantine", "list"], {**env, "TZ": tz}).stdout.decode()
        offset = expected.strftime("%z")
        assert f"{expected:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}" in text, text  # local time, with its offset
    retry = run(["quarantine", "reprocess", str(item["id"])], env)
    assert retry.returncode == 1 and b"ne passe toujours pas : " in retry.stderr and b"Traceback" not in retry.stderr


async def test_missing_file_is_a_user_error_but_the_others_are_stored(db: Database, tmp_path: Path) -> None:
    env = cli_env(db.url, tmp_path)
    good = tmp_path / "ok.eml"
    good.write_bytes(mail_bytes("<ok@x>"))
    out = run(["ingest", str(tmp_path / "absent.eml"), str(good)], env)
    assert out.returncode == 1 and b"impossible de lire" in out.stderr
    assert [g["action"] for g in lines(out)] == ["created"]


def test_ingest_exits_75_when_the_database_is_down(tmp_path: Path) -> None:
    env = cli_env("postgresql+asyncpg://nobody@127.0.0.1:1/none", tmp_path)
    out = run(["ingest", "-"], env, stdin=mail_bytes("<down@x>"))
    assert out.returncode == 75, out.stderr
    assert "échec temporaire".encode() in out.stderr and out.stdout == b""
