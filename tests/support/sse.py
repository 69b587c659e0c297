"""Reading a server-sent event stream in the route tests: the next event that matches, within a bound."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest


@dataclass(frozen=True)
class Sse:
    event: str
    data: Any


class SseReader:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        assert response.status == 200, response.status
        assert response.headers["Content-Type"].startswith("text/event-stream")
        self.response = response
        self.seen: list[Sse] = []

    async def _next(self) -> Sse:
        event, data = "message", ""
        while True:
            try:
                raw = await self.response.content.readline()
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError):
                raw = b""
            if not raw:
                raise EOFError("the stream ended")
            line = raw.decode().rstrip("\n")
            if line == "":
                if data:
                    found = Sse(event, json.loads(data))
                    self.seen.append(found)
                    return found
                event = "message"
                continue
            if line.startswith(":") or line.startswith("retry:"):
                continue
            name, _, value = line.partition(": ")
            if name == "event":
                event = value
            elif name == "data":
                data += value

    async def until(self, match: Callable[[Sse], bool], what: str, within: float = 20.0) -> Sse:
        """The next event ``match`` accepts (others are skipped); fails the test after ``within`` seconds."""
        async def scan() -> Sse:
            while not match(found := await self._next()):
                pass
            return found

        try:
            return await asyncio.wait_for(scan(), timeout=within)
        except TimeoutError:
            pytest.fail(f"no such event within {within:g} s: {what} (seen: {self.seen[-5:]})")
