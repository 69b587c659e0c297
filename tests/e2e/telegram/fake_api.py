"""A fake Telegram Bot API on 127.0.0.1 (aiohttp), for the real python-telegram-bot library.

It serves getMe, getUpdates (long polling with offsets), sendMessage, answerCallbackQuery,
editMessageText, editMessageReplyMarkup, getFile and file downloads, setWebhook and deleteWebhook.
Errors are scripted per method (``fail``); every call is recorded (``calls``, or ``refused``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token_for-the-fake"
BOT_ID = 123456


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


@dataclass
class FakeBotApi:
    token: str = TOKEN
    updates: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # answered with ok
    refused: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # answered with a scripted error
    times: list[float] = field(default_factory=list)  # perf_counter() of each entry of ``calls``
    offsets: list[int] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    script: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self._ids = itertools.count(5000)
        self._msg_ids = itertools.count(1)
        self._new = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- server ------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self._new.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = {k: _decode(v) for k, v in (await request.post()).items() if isinstance(v, str)}
        scripted = self.script.get(method)
        if scripted:
            status, body = scripted.pop(0)
            self.refused.append((method, params))
            return web.json_response({"ok": False, "error_code": status, **body}, status=status)
        self.calls.append((method, params))
        self.times.append(time.perf_counter())
        handler: Callable[[dict[str, Any]], Any] | None = getattr(self, f"m_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        result = handler(params)
        if asyncio.iscoroutine(result):
            result = await result
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        if request.match_info["token"] != self.token or file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])

    # ---- methods ------------------------------------------------------------------------------
    def m_getMe(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Assistance CRAIG", "username": "craig_assistance_bot"}

    async def m_getUpdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        offset = p.get("offset")
        if isinstance(offset, int):
            self.offsets.append(offset)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._new.clear()
            try:
                await asyncio.wait_for(self._new.wait(), timeout=min(float(p.get("timeout") or 0), 0.5))
            except TimeoutError:
                pass
        return list(self.updates)

    def _message(self, chat_id: int, text: str, **extra: Any) -> dict[str, Any]:
        return {"message_id": next(self._msg_ids), "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"}, "text": text,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Assistance CRAIG"}, **extra}

    def m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._message(int(p["chat_id"]), str(p["text"]))

    def m_answerCallbackQuery(self, _: dict[str, Any]) -> bool:
        return True

    def m_editMessageText(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._message(int(p["chat_id"]), str(p["text"]))

    def m_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._message(int(p["chat_id"]), "")

    def m_getFile(self, p: dict[str, Any]) -> dict[str, Any]:
        fid = str(p["file_id"])
        return {"file_id": fid, "file_unique_id": f"u{fid}", "file_size": len(self.files.get(fid, b"")),
                "file_path": f"documents/{fid}"}

    def m_setWebhook(self, p: dict[str, Any]) -> bool:
        self.webhook = p
        return True

    def m_deleteWebhook(self, _: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    # ---- what a user does ------------------------------------------------------------------------
    def fail(self, method: str, status: int, description: str, **parameters: Any) -> None:
        body: dict[str, Any] = {"description": description}
        if parameters:
            body["parameters"] = parameters
        self.script.setdefault(method, []).append((status, body))

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        update.setdefault("update_id", next(self._ids))
        self.updates.append(update)
        self._new.set()
        return update

    def _user_message(self, chat_id: int, *, chat_type: str = "private", **content: Any) -> dict[str, Any]:
        return {"message_id": next(self._msg_ids), "date": int(time.time()),
                "chat": {"id": chat_id, "type": chat_type, **({"title": "Groupe"} if chat_type != "private" else {})},
                "from": {"id": abs(chat_id), "is_bot": False, "first_name": "Sylvie", "last_name": "Martin"},
                **content}

    def text(self, chat_id: int, text: str, *, chat_type: str = "private") -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"message": self._user_message(chat_id, chat_type=chat_type, **content)}

    def document(self, chat_id: int, name: str, data: bytes, mime: str, caption: str = "") -> dict[str, Any]:
        fid = f"doc{len(self.files) + 1}"
        self.files[fid] = data
        doc = {"file_id": fid, "file_unique_id": f"u{fid}", "file_name": name, "mime_type": mime,
               "file_size": len(data)}
        return {"message": self._user_message(chat_id, document=doc, **({"caption": caption} if caption else {}))}

    def photo(self, chat_id: int, data: bytes) -> dict[str, Any]:
        fid = f"photo{len(self.files) + 1}"
        self.files[fid] = data
        sizes = [{"file_id": fid, "file_unique_id": f"u{fid}", "width": 800, "height": 600, "file_size": len(data)}]
        return {"message": self._user_message(chat_id, photo=sizes)}

    def button(self, chat_id: int, data: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
        shown = message or self._message(chat_id, "…")
        return {"callback_query": {"id": str(next(self._ids)), "chat_instance": "ci",
                                   "from": {"id": abs(chat_id), "is_bot": False, "first_name": "Sylvie"},
                                   "message": shown, "data": data}}

    # ---- what the bot did ---------------------------------------------------------------------------
    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        return [p for m, p in self.calls if m == "sendMessage" and (chat_id is None or int(p["chat_id"]) == chat_id)]

    def buttons(self, message: dict[str, Any]) -> list[tuple[str, str]]:
        markup = message.get("reply_markup") or {}
        return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]

    async def wait_for(self, predicate: Callable[[], bool], within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {[m for m, _ in self.calls][-20:]}")
            await asyncio.sleep(0.02)

    async def wait_sent(self, chat_id: int, count: int, within: float = 20.0) -> list[dict[str, Any]]:
        await self.wait_for(lambda: len(self.sent(chat_id)) >= count, within)
        return self.sent(chat_id)
