"""Telegram channel: time from an update to the bot's FAQ answer, through the real python-telegram-bot.

A fake Bot API on 127.0.0.1 (the one the tests use) delivers ``--questions`` questions from
``--chats`` chats in bursts; the channel stores each update, answers from the bundled FAQ
(published in a scratch SQLite database) and the fake records each sendMessage. Prints the latency
of a question asked alone, then for the burst the rate and the median and 90th percentile latency
(queueing included). Nothing leaves the machine.

    .venv/bin/python benchmarks/telegram_roundtrip.py [--questions 200] [--chats 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from channels.telegram.faq import ReloadingFaq  # noqa: E402
from helpdesk.app.faq.sync import bundled_kb_dir  # noqa: E402
from helpdesk.bootstrap import build, telegram_channel  # noqa: E402
from helpdesk.config import load_settings  # noqa: E402
from helpdesk.db import migrate  # noqa: E402
from tests.e2e.telegram.fake_api import FakeBotApi  # noqa: E402


async def run(questions: int, chats: int, url: str) -> dict[str, float]:
    api = FakeBotApi()
    await api.start()
    settings = load_settings(database_url=url, telegram_token=api.token, telegram_base_url=api.base_url)
    services = build(settings)
    await services.kb_store.import_dir(bundled_kb_dir())
    faq = ReloadingFaq(services.kb_store.knowledge_base)
    await faq.reload()
    entries = [e for e in await services.kb_store.published() if e.questions]
    channel = telegram_channel(services, settings, faq, poll_timeout=1.0)
    await channel.start()
    pushed: dict[int, float] = {}
    alone = []
    try:
        for i in range(20):  # one question at a time: what a single user waits
            t0 = time.perf_counter()
            api.push(api.text(999, entries[i % len(entries)].questions[0]))
            await api.wait_for(lambda n=i: len(api.sent(999)) > n, within=30)
            alone.append(time.perf_counter() - t0)
        api.calls.clear()
        api.times.clear()
        start = time.perf_counter()
        for i in range(questions):
            chat = 1000 + i % chats
            pushed[chat * 100000 + i] = time.perf_counter()
            api.push(api.text(chat, entries[i % len(entries)].questions[0]))
            if i % chats == chats - 1:
                await asyncio.sleep(0)
        await api.wait_for(lambda: len(api.sent()) >= questions, within=300)
        elapsed = time.perf_counter() - start
    finally:
        await channel.stop()
        await services.db.dispose()
        await api.stop()
    # Latency: each chat's k-th answer belongs to that chat's k-th question.
    answered: dict[int, list[float]] = {}
    for (method, params), at in zip(api.calls, api.times, strict=True):
        if method == "sendMessage":
            answered.setdefault(int(params["chat_id"]), []).append(at)
    latencies = []
    by_chat: dict[int, list[float]] = {}
    for key, t0 in sorted(pushed.items(), key=lambda kv: kv[0] % 100000):
        by_chat.setdefault(key // 100000, []).append(t0)
    for chat, starts in by_chat.items():
        latencies += [a - s for s, a in zip(starts, answered.get(chat, []), strict=False)]
    latencies.sort()
    alone.sort()
    return {
        "alone_p50_ms": round(statistics.median(alone) * 1000, 1),
        "questions": questions,
        "chats": chats,
        "seconds": round(elapsed, 2),
        "answers_per_second": round(questions / elapsed, 1),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p90_ms": round(latencies[int(len(latencies) * 0.9) - 1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--chats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        migrate.upgrade(url)
        result = asyncio.run(run(args.questions, args.chats, url))
    print(json.dumps({"backend": "sqlite", **result}))


if __name__ == "__main__":
    main()
