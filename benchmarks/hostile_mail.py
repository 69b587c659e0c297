"""Hostile and broken mail against a running `helpdesk serve`, while /healthz is probed every 50 ms.

Starts `helpdesk serve --migrate` (SQLite in a scratch directory, or PostgreSQL with --postgres and
HELPDESK_TEST_POSTGRES_URL) with every worker running and acknowledgements on (a do-nothing relay on
loopback takes what the Outbox sends), then sends the corpus: the cases of issue 15 and more. Each
message is sent up to three times while the answer is 4xx, as an MTA would retry. Reports:
  - the worst and 99th-percentile /healthz latency during the run (target: worst under 200 ms);
  - what became of each case: stored (ticket), quarantined (reason), kept without a ticket
    (automatic mail), refused (5xx), or STUCK (still 4xx after three tries: must never happen);
  - how many mails the service wrote to the forged flood victim (the reflector case).

    .venv/bin/python benchmarks/hostile_mail.py [--postgres] [--only NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import hashlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
ADDR = "assistance@craig.fr"
SENDER = "sylvie@mairie-murat.fr"
VICTIM = "victime@mairie-cible.fr"


# ---- the corpus ----------------------------------------------------------------------------------------------
def plain(mid: str, *, subject: bytes = b"Budget", body: bytes = b"Bonjour,\r\nUne question.\r\n",
          sender: bytes = b"Sylvie Martin <sylvie@mairie-murat.fr>", extra: bytes = b"") -> bytes:
    return (b"From: " + sender + b"\r\nTo: assistance@craig.fr\r\nSubject: " + subject + b"\r\nMessage-ID: "
            + mid.encode() + b"\r\n" + extra + b"\r\n" + body)


def nested_forwards(mid: str, levels: int) -> bytes:
    inner = b"From: x@y.fr\r\nSubject: fond\r\n\r\nbonjour\r\n"
    for i in range(levels):
        inner = b"From: x@y.fr\r\nSubject: niveau %d\r\nContent-Type: message/rfc822\r\n\r\n" % i + inner
    return plain(mid, body=inner.split(b"\r\n\r\n", 1)[1], extra=b"Content-Type: message/rfc822\r\n")


def nested_multiparts(mid: str, levels: int) -> bytes:
    part = b"Content-Type: text/plain\r\n\r\nx\r\n"
    for i in range(levels):
        part = (b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) + part
                + b"\r\n--b%d--\r\n" % i)
    head, body = part.split(b"\r\n\r\n", 1)
    return plain(mid, extra=head + b"\r\n", body=body)


def many_parts(mid: str, n: int) -> bytes:
    body = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(n)) + b"--b--\r\n"
    return plain(mid, body=body, extra=b"Content-Type: multipart/mixed; boundary=b\r\n")


def divs(mid: str, n: int) -> bytes:
    return plain(mid, body=b"<div>" * n + b"x" + b"</div>" * n + b"\r\n", extra=b"Content-Type: text/html\r\n")


def with_csv(mid: str, sender: str, subject: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = sender, ADDR, subject, mid
    m.set_content("Voici le fichier.")
    m.add_attachment(b"nom;valeur\nx;1\n", maintype="text", subtype="csv", filename="budget.csv")
    return m.as_bytes(policy=email.policy.SMTP)


def forged_bounce(mid: str) -> bytes:
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\nTo: {ADDR}\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: {mid}\r\n"
            f"X-Failed-Recipients: {SENDER}\r\n\r\n550 user unknown\r\n").encode()


@dataclass
class Case:
    name: str
    what: str
    raw: bytes | None = None  # a message; or, for a command case, the lines below
    lines: list[bytes] = field(default_factory=list)
    mail_from: str = SENDER
    parallel: int = 1  # copies sent at once (distinct Message-IDs)
    make: Callable[[str], bytes] | None = None


def corpus(run: str) -> list[Case]:
    def mid(name: str, i: int = 0) -> str:
        return f"<{name}.{i}.{run}@hostile.example>"

    cases = [
        Case("ehlo-50k", "EHLO followed by 50,000 characters",
             lines=[b"EHLO " + b"a" * 50_000 + b"\r\n", b"NOOP\r\n"]),
        Case("rcpt-30k", "a 30 KB RCPT TO line",
             lines=[b"EHLO x\r\n", b"MAIL FROM:<a@b.fr>\r\n", b"RCPT TO:<" + b"b" * 30_000 + b"@craig.fr>\r\n"]),
        Case("line-24mb", "a 24 MB command line", lines=[b"NOOP " + b"z" * (24 * 2**20) + b"\r\n", b"NOOP\r\n"]),
        Case("auth-junk", "AUTH and STARTTLS that are not offered, 200 junk commands",
             lines=[b"EHLO x\r\n", b"AUTH PLAIN AGFiYwBkZWY=\r\n", b"STARTTLS\r\n"] + [b"XYZZY\r\n"] * 200),
        Case("nested-rfc822-x6", "250 nested message/rfc822 parts, six at once", parallel=6,
             make=lambda m: nested_forwards(m, 250)),
        Case("nested-multipart", "1,000 nested multiparts", make=lambda m: nested_multiparts(m, 1000)),
        Case("divs-45k", "45,000 nested <div> (495 KB)", make=lambda m: divs(m, 45_000)),
        Case("divs-1mb", "100,000 nested <div> (1.1 MB)", make=lambda m: divs(m, 100_000)),
        Case("parts-10k", "10,000 MIME parts", make=lambda m: many_parts(m, 10_000)),
        Case("utf7-surrogate", "a subject decoding to a lone surrogate",
             make=lambda m: plain(m, subject=b"=?utf-7?q?Budget_+2D4-?=")),
        Case("nul-subject", "a NUL in the subject", make=lambda m: plain(m, subject=b"=?utf-8?q?Budget=00annexe?=")),
        Case("nul-name", "a NUL in the sender's name",
             make=lambda m: plain(m, sender=b"=?utf-8?q?Sylvie=00Martin?= <sylvie@mairie-murat.fr>")),
        Case("nul-filename", "a NUL and a surrogate in a file name",
             make=lambda m: plain(m, extra=b"Content-Type: multipart/mixed; boundary=z\r\n",
                                  body=b"--z\r\nContent-Type: text/plain\r\n\r\nVoici.\r\n--z\r\nContent-Type: "
                                       b"text/csv\r\nContent-Disposition: attachment; filename*=utf-8''a%00%ED%A0%BD"
                                       b".csv\r\n\r\na;b\r\n--z--\r\n")),
        Case("nul-body", "NUL bytes in the body", make=lambda m: plain(m, body=b"Bon\x00jour\r\n" * 100)),
        Case("no-from", "no sender address at all",
             make=lambda m: b"Subject: anonyme\r\nMessage-ID: " + m.encode() + b"\r\n\r\ntexte\r\n"),
        Case("header-bomb", "250 KB of header fields",
             make=lambda m: plain(m, extra=b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 80) for i in range(3000)))),
        Case("long-header", "one 900 KB header line", make=lambda m: plain(m, extra=b"X-Long: " + b"a" * 900_000
                                                                               + b"\r\n")),
        Case("8bit-garbage", "random 8-bit bytes for headers and body",
             make=lambda m: plain(m, subject=bytes(range(128, 256)), body=os.urandom(20_000).replace(b"\r\n.", b"")
                                  .replace(b"\n.", b"\n_"))),
        Case("unterminated", "a multipart whose boundary never comes",
             make=lambda m: plain(m, extra=b"Content-Type: multipart/mixed; boundary=nope\r\n", body=b"x" * 5000)),
        Case("forged-bounce", "a forged bounce (MAIL FROM:<>) for an existing contact", mail_from="",
             make=forged_bounce),
        Case("link-subject", "a forged sender, a phishing link in the subject", mail_from=VICTIM,
             make=lambda m: plain(m, sender=VICTIM.encode(),
                                  subject=b"Votre compte https://craig-fr.evil.example/login")),
        Case("csv-flood-x30", "30 mails with a tiny CSV from one forged address", mail_from=VICTIM, parallel=30,
             make=lambda m: with_csv(m, VICTIM, f"Fichier {m[1:12]}")),
        Case("stranger-reply", "a stranger's In-Reply-To naming the first message",
             make=lambda m: plain(m, sender=b"intrus@ailleurs.example",
                                  extra=f"In-Reply-To: {mid('baseline')}\r\n".encode())),
    ]
    for c in cases:
        if c.make is not None:
            c.raw = c.make(mid(c.name))
    return cases


# ---- the service under test -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def null_relay() -> tuple[asyncio.Server, list[bytes]]:
    from aiosmtpd.smtp import SMTP

    received: list[bytes] = []

    class Keep:
        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
            received.append(envelope.original_content or b"")
            return "250 OK"

    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Keep(), hostname="relay", loop=loop), "127.0.0.1", 0)
    return server, received


def start_serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("helpdesk")
    cmd = [str(exe), "serve", "--migrate"] if exe.exists() else [sys.executable, "-m", "helpdesk.cli", "serve",
                                                                  "--migrate"]
    return subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)


async def wait_ready(http: aiohttp.ClientSession, url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit("helpdesk serve exited; see its log")
        try:
            async with http.get(url) as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("helpdesk serve did not answer /healthz")


def probe_main(url: str) -> None:
    """In its own process (so the load generator's work never shows as latency): GET /healthz every
    50 ms until stdin closes, then print one "offset latency" line per probe."""
    import threading
    import urllib.request

    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    t0 = time.perf_counter()
    out = []
    while not stop.is_set():
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310 - loopback
                r.read()
        except OSError:
            pass
        out.append((start - t0, time.perf_counter() - start))
        stop.wait(max(0.0, 0.05 - (time.perf_counter() - start)))
    print("\n".join(f"{t:.4f} {d:.6f}" for t, d in out), flush=True)


def start_probe(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, "--probe", url], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def stop_probe(proc: subprocess.Popen[str]) -> list[tuple[float, float]]:
    out, _ = proc.communicate("", timeout=120)
    return [(float(a), float(b)) for a, b in (line.split() for line in out.splitlines() if line.strip())]


# ---- SMTP clients ---------------------------------------------------------------------------------------------
async def reply(reader: asyncio.StreamReader) -> bytes:
    out = b""
    while True:
        line = await reader.readline()
        out += line
        if not line or len(line) < 4 or line[3:4] != b"-":
            return out


async def dialogue(port: int, lines: list[bytes]) -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
    codes = [(await reply(reader))[:3].decode()]
    try:
        for line in lines:
            for i in range(0, len(line), 1 << 20):
                writer.write(line[i:i + (1 << 20)])
                await writer.drain()
            answer = (await reply(reader))[:3].decode()
            codes.append(answer or "closed")
            if not answer:
                break
        writer.write(b"QUIT\r\n")
        await writer.drain()
    except ConnectionError:
        codes.append("closed by the server")
    writer.close()
    return codes


async def deliver(port: int, raw: bytes, mail_from: str, tries: int = 3) -> list[int]:
    """DATA up to ``tries`` times while the answer is 4xx (the retries of a sending MTA)."""
    import aiosmtplib

    codes: list[int] = []
    for _ in range(tries):
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=600)
        await client.connect()
        try:
            await client.ehlo()
            await client.mail(mail_from)
            await client.rcpt(ADDR)
            try:
                codes.append((await client.data(raw)).code)
            except aiosmtplib.SMTPResponseException as exc:
                codes.append(exc.code)
        except aiosmtplib.SMTPServerDisconnected:
            codes.append(421)  # counted as a temporary failure: the MTA would retry
        finally:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                pass
        if not 400 <= codes[-1] < 500:
            break
    return codes


# ---- what became of each message ------------------------------------------------------------------------------
async def outcomes(url: str, raws: dict[str, bytes], ids: dict[str, str]) -> dict[str, str]:
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import or_, select

    from helpdesk.db.engine import Database
    from helpdesk.db.tables import Event, Message, Outbox, Quarantine, Ticket

    db = Database(url)
    out: dict[str, str] = {}
    try:
        async with db.transaction() as s:
            for key, raw in raws.items():
                digest = hashlib.sha256(raw).hexdigest()
                q = (await s.scalars(select(Quarantine).where(Quarantine.raw_sha256 == digest))).first()
                m = (await s.execute(select(Message, Ticket.number).join(Ticket, Ticket.id == Message.ticket_id)
                                     .where(Message.raw_sha256 == digest))).first()
                if m is None and key in ids:
                    m = (await s.execute(select(Message, Ticket.number).join(Ticket, Ticket.id == Message.ticket_id)
                                         .where(Message.external_id == ids[key]))).first()
                if m is not None:
                    msg, number = m
                    out[key] = f"stored on ticket #{number} ({msg.thread_reason})"
                elif q is not None:
                    out[key] = f"quarantined: {q.reason[:110]}"
                elif (await s.scalars(select(Event.id).where(Event.kind == "message.automatic_ignored", or_(
                        Event.data["raw_sha256"].as_string() == digest,
                        Event.data["external_id"].as_string() == ids.get(key, "-"))))).first():
                    out[key] = "kept without a ticket (automatic mail)"
                else:
                    out[key] = "NOT FOUND"
        async with db.transaction() as s:
            payloads = (await s.scalars(select(Outbox.payload).where(Outbox.channel == "email"))).all()
            out["__to_victim__"] = str(sum(1 for p in payloads if isinstance(p, dict) and p.get("to") == VICTIM))
    finally:
        await db.dispose()
    return out


async def run(args: argparse.Namespace) -> int:
    run_id = uuid.uuid4().hex[:8]
    relay, relayed = await null_relay()
    relay_port = relay.sockets[0].getsockname()[1]
    http_port, smtp_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        pg = os.environ.get("HELPDESK_TEST_POSTGRES_URL")
        dbname = None
        if args.postgres:
            if not pg:
                raise SystemExit("--postgres needs HELPDESK_TEST_POSTGRES_URL")
            import asyncpg

            dbname = f"helpdesk_hostile_{run_id}"
            conn = await asyncpg.connect(pg.replace("postgresql+asyncpg://", "postgresql://"))
            await conn.execute(f'CREATE DATABASE "{dbname}"')
            await conn.close()
            url = pg.rsplit("/", 1)[0] + "/" + dbname
        else:
            url = f"sqlite+aiosqlite:///{tmp}/hostile.sqlite3"
        env = {"HELPDESK_DATABASE_URL": url, "HELPDESK_DATA_DIR": tmp, "HELPDESK_HTTP_PORT": str(http_port),
               "HELPDESK_SMTP_PORT": str(smtp_port), "HELPDESK_SMTP_RELAY_HOST": "127.0.0.1",
               "HELPDESK_SMTP_RELAY_PORT": str(relay_port), "HELPDESK_MAIL_ADDRESSES": ADDR,
               "HELPDESK_PUBLIC_URL": f"http://127.0.0.1:{http_port}", "HELPDESK_LOG_LEVEL": "INFO"}
        log_path = Path(args.log) if args.log else Path(tmp) / "serve.log"
        proc = start_serve(env, log_path)
        health = f"http://127.0.0.1:{http_port}/healthz"
        latencies: list[tuple[float, float]] = []
        results: dict[str, list[str]] = {}
        raws: dict[str, bytes] = {}
        ids: dict[str, str] = {}
        try:
            async with aiohttp.ClientSession() as http:
                await wait_ready(http, health, proc)
                cases = corpus(run_id)
                if args.only:
                    cases = [c for c in cases if c.name in args.only]
                # Warm-up, not measured: a first request with a file, until its acknowledgement and its
                # file-check summary reach the relay (first FAQ index build, first imports of each path).
                baseline = with_csv(f"<baseline.0.{run_id}@hostile.example>", SENDER, "Budget")
                assert (await deliver(smtp_port, baseline, SENDER))[-1] == 250
                for _ in range(1200):
                    if len(relayed) >= 2:
                        break
                    await asyncio.sleep(0.1)
                relayed.clear()
                prober = start_probe(health)
                await asyncio.sleep(1.0)  # a quiet second first: the probe's own baseline
                started = time.perf_counter()

                async def one(case: Case) -> None:
                    if case.lines:
                        codes = await dialogue(smtp_port, case.lines)
                        results[case.name] = [f"replies {' '.join(codes)}"]
                        return
                    assert case.make is not None
                    jobs = []
                    for i in range(case.parallel):
                        raw = case.make(f"<{case.name}.{i}.{run_id}@hostile.example>") if i else case.raw
                        assert raw is not None
                        raws[f"{case.name}#{i}"] = raw
                        ids[f"{case.name}#{i}"] = f"<{case.name}.{i}.{run_id}@hostile.example>"
                        jobs.append(deliver(smtp_port, raw, case.mail_from))
                    results[case.name] = [",".join(map(str, c)) for c in await asyncio.gather(*jobs)]

                await asyncio.gather(*(one(c) for c in cases))
                elapsed = time.perf_counter() - started
                await asyncio.sleep(3)  # the Outbox worker sends what was queued (acknowledgements, summaries)
                latencies = stop_probe(prober)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        fates = await outcomes(url, raws, ids)
        relay.close()
        to_victim = sum(1 for r in relayed if f"To: {VICTIM}".encode() in r or f"<{VICTIM}>".encode() in r)
        if dbname and pg:
            import asyncpg

            conn = await asyncpg.connect(pg.replace("postgresql+asyncpg://", "postgresql://"))
            await conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            await conn.close()
        lat = [ms for _, ms in latencies]
        worst = max(lat) * 1000 if lat else float("nan")
        p99 = statistics.quantiles(lat, n=100)[98] * 1000 if len(lat) >= 100 else worst
        print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; corpus sent in {elapsed:.1f} s; "
              f"{len(lat)} /healthz probes")
        print(f"/healthz latency: worst {worst:.0f} ms, p99 {p99:.0f} ms, median "
              f"{statistics.median(lat) * 1000:.1f} ms (target: worst under 200 ms)")
        spikes = sorted(latencies, key=lambda x: -x[1])[:5]
        print("slowest probes (seconds into the run: latency): "
              + ", ".join(f"{t:.1f} s: {ms * 1000:.0f} ms" for t, ms in spikes))
        stuck = 0
        for case in cases:
            print(f"- {case.name}: {case.what}")
            for i, codes in enumerate(results.get(case.name, ["not run"])):
                fate = fates.get(f"{case.name}#{i}", "")
                if codes.split(",")[-1].startswith("4"):
                    stuck += 1
                    fate = "STUCK in 4xx after three tries"
                elif codes.split(",")[-1].startswith("5") and case.raw is not None:
                    fate = "refused (5xx)"
                if case.parallel > 1 and i > 0 and (codes, fate.split(" #")[0]) == (
                        results[case.name][0], fates.get(f"{case.name}#0", "").split(" #")[0]):
                    continue
                print(f"    {'#' + str(i) if case.parallel > 1 else ''} SMTP {codes} → {fate}")
        print(f"mails to the forged flood victim ({VICTIM}): {fates['__to_victim__']} queued in the Outbox, "
              f"{to_victim} of them relayed during the run (issue 15 saw 33)")
        print(f"messages stuck in 4xx: {stuck}")
        return 1 if stuck else 0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--postgres", action="store_true", help="PostgreSQL (HELPDESK_TEST_POSTGRES_URL) instead of SQLite")
    p.add_argument("--only", nargs="*", help="case names to send")
    p.add_argument("--log", help="keep the service's log in this file")
    p.add_argument("--probe", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.probe:
        probe_main(args.probe)
        return 0
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
