"""Sustained SMTP ingest rate: the helpdesk's edge (durable commits) vs a do-nothing aiosmtpd server.

20 concurrent senders, a new connection per message (EHLO, MAIL, RCPT, DATA, QUIT), for a fixed time
per phase. Each server runs in its own process; the load generator runs in this one. Servers:
  - do-nothing aiosmtpd (answers 250 without looking at the message)
  - the helpdesk on SQLite (WAL, synchronous=FULL, group commit), built as `helpdesk serve` builds it:
    parsing, quarantine rules, intake with its hooks (routing and SLA, file-check jobs for the CSV
    attachment every message carries, the bounce hook); no relay, so no acknowledgements
  - with --acknowledge: the same with a relay configured, so each new ticket also gets a queued
    acknowledgement. Unless a routing rule uses FAQ tags, its FAQ suggestions are searched by the
    Outbox sender after the 250, off the SMTP path.
The Outbox worker is not started in any phase: what it does after acceptance (file checks, sending
acknowledgements with their FAQ search) is work the service does after the burst, not per 250.
  - the helpdesk on PostgreSQL, when HELPDESK_TEST_POSTGRES_URL is set (a scratch database)
  - with --deployed: `helpdesk serve --migrate` itself, as deployed (SQLite, every worker running: web,
    Outbox dispatcher sending the acknowledgements and file-check summaries to a do-nothing relay on
    loopback, escalation; the mail parser processes; acknowledgements on)
Each round loads them one after the other, so a change in the machine's load hits every server alike;
the ratio to the do-nothing server is computed per round and its median printed (target: >= 0.5).
After each helpdesk phase every accepted message is checked to be in the database.

    .venv/bin/python benchmarks/smtp_ingest.py [--seconds 5] [--rounds 3] [--senders 20] [--acknowledge]
                                               [--deployed] [--no-embedded]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import aiosmtplib

ROOT = Path(__file__).resolve().parents[1]
ADDR = "assistance@craig.fr"
BODY = (
    "Bonjour,\n\nNous souhaitons publier le budget primitif 2026 de la commune au format SCDL mais le "
    "validateur signale des erreurs sur les colonnes « Nature » et « Fonction ». Pouvez-vous nous aider ?\n\n"
    "Le fichier est joint. Merci d'avance.\n\nCordialement,\nSylvie Martin\nSecrétaire de mairie\n"
)


def message(i: int, run: str) -> bytes:
    m = EmailMessage()
    m["From"] = f"Agent {i % 500} <agent{i % 500}@mairie-{i % 97}.fr>"
    m["To"] = ADDR
    m["Subject"] = f"Budget primitif 2026 : erreurs de validation ({i})"
    m["Message-ID"] = f"<bench.{run}.{i}@mairie.fr>"
    m.set_content(BODY)
    m.add_attachment(b"nature;fonction;montant\n6042;020;1250,00\n" * 20, maintype="text", subtype="csv",
                     filename="budget.csv")
    return m.as_bytes(policy=SMTP_POLICY)


# ---- servers (child processes) --------------------------------------------------------------------
async def _serve_null() -> None:
    from aiosmtpd.smtp import SMTP

    class Null:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            return "250 OK"

    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Null(), hostname="bench", loop=loop), "127.0.0.1", 0)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


async def _serve_helpdesk(url: str, acknowledge: bool) -> None:
    """The SMTP edge as `helpdesk serve` builds it (bootstrap.build: routing and SLA, file checks, bounce
    hook), with acknowledgements and FAQ suggestions when ``acknowledge`` (a relay is configured; the
    Outbox worker is not started, so acknowledgements are queued, not sent)."""
    sys.path.insert(0, str(ROOT))
    from channels.email.server import serve_mail
    from helpdesk.bootstrap import build, mail_ingest, smtp_suggester
    from helpdesk.config import Settings

    settings = Settings(database_url=url, mail_addresses=[ADDR], acknowledge=acknowledge,
                        smtp_relay_host="127.0.0.1" if acknowledge else None, smtp_relay_port=9)
    services = build(settings)
    if acknowledge:
        from helpdesk.app.faq.sync import bundled_kb_dir

        await services.kb_store.import_dir(bundled_kb_dir())
    ingest = mail_ingest(services, suggest=smtp_suggester(services))  # what start_smtp serves
    server = await serve_mail(ingest, host="127.0.0.1", port=0, addresses=[ADDR], max_bytes=settings.mail_max_bytes,
                              hostname="craig.fr")
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


# ---- load ----------------------------------------------------------------------------------------
async def load(port: int, seconds: float, senders: int, run: str) -> tuple[int, int, float]:
    ok = failed = 0
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def sender() -> None:
        nonlocal ok, failed
        while time.perf_counter() < deadline:
            raw = message(next(counter), run)
            try:
                errors, _ = await aiosmtplib.send(raw, sender="agent@mairie.fr", recipients=[ADDR],
                                                  hostname="127.0.0.1", port=port, timeout=30, start_tls=False,
                                                  local_hostname="bench.local")
                ok += 0 if errors else 1
            except aiosmtplib.SMTPException:
                failed += 1

    start = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(senders)))
    return ok, failed, time.perf_counter() - start


def start_server(args: list[str]) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc, int(line.split()[1])


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_deployed(url: str, relay_port: int, tmp: str) -> tuple[subprocess.Popen[str], int]:
    """`helpdesk serve --migrate` as deployed; answers once its SMTP port takes connections."""
    import socket

    smtp_port, http_port = free_port(), free_port()
    env = {**os.environ, "HELPDESK_DATABASE_URL": url, "HELPDESK_DATA_DIR": tmp,
           "HELPDESK_SMTP_PORT": str(smtp_port), "HELPDESK_HTTP_PORT": str(http_port),
           "HELPDESK_SMTP_RELAY_HOST": "127.0.0.1", "HELPDESK_SMTP_RELAY_PORT": str(relay_port),
           "HELPDESK_MAIL_ADDRESSES": ADDR, "HELPDESK_PUBLIC_URL": f"http://127.0.0.1:{http_port}"}
    exe = Path(sys.executable).with_name("helpdesk")
    log = open(Path(tmp) / "serve.log", "w")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen([str(exe), "serve", "--migrate"], env=env, cwd=ROOT, stdout=log, stderr=log, text=True)
    for _ in range(1200):
        if proc.poll() is not None:
            raise SystemExit(f"helpdesk serve exited: {(Path(tmp) / 'serve.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", smtp_port), timeout=1):
                return proc, smtp_port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("helpdesk serve did not open its SMTP port")


def measure(name: str, port: int, seconds: float, senders: int) -> tuple[float, str, int]:
    run = uuid.uuid4().hex[:8]
    ok, failed, elapsed = asyncio.run(load(port, seconds, senders, run))
    rate = ok / elapsed
    print(f"  {name:<26} {ok:>6} accepted, {failed:>3} refused in {elapsed:5.1f} s  →  {rate:7.1f} msg/s", flush=True)
    return rate, run, ok


async def stored(url: str, run: str) -> int:
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import func, select

    from helpdesk.db.engine import Database
    from helpdesk.db.tables import Message

    db = Database(url)
    try:
        async with db.transaction() as s:
            n = await s.scalar(select(func.count(Message.id)).where(Message.external_id.like(f"<bench.{run}.%")))
            return int(n or 0)
    finally:
        await db.dispose()


def migrate(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    from helpdesk.db import migrate as m

    m.upgrade(url)


async def pg_admin(base: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(base.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--senders", type=int, default=20)
    p.add_argument("--serve", choices=["null", "helpdesk", "helpdesk-ack"])
    p.add_argument("--acknowledge", action="store_true",
                   help="also measure SQLite with acknowledgements and FAQ suggestions (a relay configured)")
    p.add_argument("--url")
    p.add_argument("--deployed", action="store_true",
                   help="also measure `helpdesk serve` as deployed (all workers, acknowledgements on)")
    p.add_argument("--no-embedded", action="store_true", help="skip the embedded-edge phases (SQLite, PostgreSQL)")
    args = p.parse_args()
    if args.serve == "null":
        asyncio.run(_serve_null())
        return 0
    if args.serve in ("helpdesk", "helpdesk-ack"):
        asyncio.run(_serve_helpdesk(args.url, args.serve == "helpdesk-ack"))
        return 0

    print(f"{args.senders} concurrent senders, a new connection per message, {args.seconds:.0f} s per phase, "
          f"{args.rounds} rounds (phases alternate, so a change in machine load hits them alike)")
    servers: dict[str, tuple[subprocess.Popen[str], int, str | None]] = {}
    relays: list[subprocess.Popen[str]] = []
    cleanup: list[str] = []
    pg = os.environ.get("HELPDESK_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            servers["do-nothing aiosmtpd"] = (*start_server(["--serve", "null"]), None)
            if args.deployed:
                relay = start_server(["--serve", "null"])  # takes what the Outbox sends
                relays.append(relay[0])
                url = f"sqlite+aiosqlite:///{tmp}/deployed.sqlite3"
                servers["helpdesk serve (deployed)"] = (*start_deployed(url, relay[1], tmp), url)
            url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
            if not args.no_embedded:
                migrate(url)
                servers["helpdesk, SQLite (durable)"] = (*start_server(["--serve", "helpdesk", "--url", url]), url)
            if args.acknowledge:
                url = f"sqlite+aiosqlite:///{tmp}/bench-ack.sqlite3"
                migrate(url)
                servers["SQLite + acknowledgements"] = (*start_server(["--serve", "helpdesk-ack", "--url", url]), url)
            if pg and not args.no_embedded:
                name = f"helpdesk_bench_{uuid.uuid4().hex[:8]}"
                asyncio.run(pg_admin(pg, f'CREATE DATABASE "{name}"'))
                cleanup.append(name)
                url = pg.rsplit("/", 1)[0] + "/" + name
                migrate(url)
                servers["helpdesk, PostgreSQL"] = (*start_server(["--serve", "helpdesk", "--url", url]), url)
            elif not args.no_embedded:
                print("PostgreSQL phase skipped: set HELPDESK_TEST_POSTGRES_URL")
            for _, port, _ in servers.values():
                asyncio.run(load(port, 1.0, args.senders, "warm" + uuid.uuid4().hex[:6]))  # imports, caches
            ratios: dict[str, list[float]] = {k: [] for k in servers if k != "do-nothing aiosmtpd"}
            for r in range(1, args.rounds + 1):
                print(f"round {r}")
                null_rate, _, _ = measure("do-nothing aiosmtpd", servers["do-nothing aiosmtpd"][1], args.seconds,
                                       args.senders)
                for key in ratios:
                    _, port, url = servers[key]
                    rate, run, ok = measure(key, port, args.seconds, args.senders)
                    kept = asyncio.run(stored(url or "", run))
                    ratios[key].append(rate / null_rate if null_rate else 0.0)
                    if kept < ok:
                        raise SystemExit(f"{key}: {ok} messages accepted but only {kept} stored")
                    print(f"  {'':<26} {kept} of {ok} accepted messages found in the database")
            for key, values in ratios.items():
                ratio = statistics.median(values)
                verdict = "meets" if ratio >= 0.5 else "misses"
                print(f"ratio {key:<28} median {ratio:5.2f} of the do-nothing server "
                      f"(rounds: {', '.join(f'{v:.2f}' for v in values)}; {verdict} the 0.5 target)")
        finally:
            for proc in [*(p for p, _, _ in servers.values()), *relays]:
                proc.terminate()
                proc.wait(timeout=30)
            for name in cleanup:
                asyncio.run(pg_admin(pg or "", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
