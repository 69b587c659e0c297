"""The pure rules of the IMAP pull: IDLE or polling, what counts as a new-mail push, the back-off."""

from __future__ import annotations

import pytest

from channels.email.imap import (
    IDLE_RENEW_SECONDS,
    ImapConfig,
    backoff_delay,
    capability_names,
    is_new_mail_push,
    use_idle,
)
from helpdesk.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("mode", "capabilities", "expected"),
    [
        ("auto", ["IMAP4rev1", "IDLE", "MOVE"], True),
        ("idle", ["IMAP4rev1", "IDLE"], True),
        ("auto", ["IMAP4rev1", "UIDPLUS", "MOVE"], False),  # no IDLE: poll
        ("idle", ["IMAP4rev1", "UIDPLUS"], False),  # asked for IDLE, server cannot: poll (with a warning)
        ("poll", ["IMAP4rev1", "IDLE"], False),  # polling asked for
        ("auto", ["[CAPABILITY", "IMAP4rev1", "idle]", "Logged", "in"], True),  # from a LOGIN response code
        ("auto", [], False),
    ],
)
def test_idle_only_when_asked_and_offered(mode: str, capabilities: list[str], expected: bool) -> None:
    assert use_idle(mode, capabilities) is expected  # type: ignore[arg-type]


def test_capability_names_are_bare_upper_case_atoms() -> None:
    assert capability_names(["[CAPABILITY", "imap4rev1", "IDLE]", "(", "AUTH=PLAIN"]) == {
        "CAPABILITY", "IMAP4REV1", "IDLE", "AUTH=PLAIN"}


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([b"3 EXISTS", b"3 RECENT"], True),
        ([b"* 12 EXISTS"], True),
        ([b"1 RECENT"], True),
        ([b"0 RECENT"], False),
        ([b"OK Still here"], False),
        ([b"4 EXPUNGE"], False),
        ([b"4 FETCH (FLAGS (\\Seen))"], False),
        ([b"stop_wait_server_push"], False),
        ([bytearray(b"7 EXISTS")], True),
        (["7 EXISTS"], False),  # not a server line
        ([], False),
    ],
)
def test_what_counts_as_new_mail(lines: list[object], expected: bool) -> None:
    assert is_new_mail_push(lines) is expected


def test_backoff_doubles_and_is_bounded() -> None:
    assert [backoff_delay(n, 2.0, 300.0) for n in range(0, 10)] == [0, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert backoff_delay(10_000, 2.0, 300.0) == 300.0


def test_idle_is_renewed_within_rfc_2177_limit() -> None:
    assert IDLE_RENEW_SECONDS <= 29 * 60
    assert ImapConfig(host="h", user="u", password="p").idle_renew == IDLE_RENEW_SECONDS


def test_imap_mode_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELPDESK_IMAP_MODE", raising=False)
    assert load_settings().imap_mode == "auto"
    monkeypatch.setenv("HELPDESK_IMAP_MODE", "poll")
    assert load_settings().imap_mode == "poll"
    monkeypatch.setenv("HELPDESK_IMAP_MODE", "push")
    with pytest.raises(ConfigError, match="HELPDESK_IMAP_MODE"):
        load_settings()
