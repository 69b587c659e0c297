"""Pure helpers of the web edge and the queue: French durations, cursors, slugs, safe redirects, wording."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpdesk.app.faq.admin import slugify
from helpdesk.app.tickets.queue import decode_cursor, encode_cursor
from helpdesk.domain.errors import ErrorCode, InvalidTransition, NotFound, ValidationError
from helpdesk.domain.messages_fr import CATALOGUE, user_message_fr
from helpdesk.web.auth import _safe_next
from helpdesk.web.labels import duration, file_size, local_time


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "sans échéance"), (59, "reste 0 min"), (12 * 60, "reste 12 min"), (2 * 3600 + 5 * 60, "reste 2 h 05"),
    (3 * 86400 + 2 * 3600, "reste 3 j 2 h"), (-90 * 60, "en retard de 1 h 30"),
])
def test_duration_in_french(seconds: int | None, text: str) -> None:
    assert duration(seconds) == text


def test_local_time_is_paris_and_sizes_are_french() -> None:
    assert local_time(datetime(2026, 7, 1, 10, 0, tzinfo=UTC)) == "01/07/2026 12:00"  # CEST
    assert local_time(datetime(2026, 1, 1, 10, 0, tzinfo=UTC)) == "01/01/2026 11:00"  # CET
    assert local_time(None) == "—"
    assert [file_size(n) for n in (12, 2048, 3 * 1024 * 1024)] == ["12 o", "2 Ko", "3.0 Mo"]


def test_cursor_round_trip_and_rejects_garbage() -> None:
    when = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
    assert decode_cursor(encode_cursor(0, when, 42)) == (0, when, 42)
    assert decode_cursor(encode_cursor(1, None, 7)) == (1, None, 7)
    for bad in ("", "!!!", "MXwyMDI2LTAzLTAyVDA5OjMwOjAwfDQy"):  # the last one holds a naive time
        with pytest.raises(ValidationError):
            decode_cursor(bad)


def test_slugify_keeps_french_readable() -> None:
    assert slugify("Où publier le budget primitif ?") == "ou-publier-le-budget-primitif"
    assert slugify("???") == "entree"


@pytest.mark.parametrize(("value", "expected"), [
    ("/tickets/1000", "/tickets/1000"), ("/queue?view=mine&q=a%20b", "/queue?view=mine&q=a%20b"),
    ("//evil.example", "/queue"), ("/\\evil.example", "/queue"), ("/\t/evil.example", "/queue"),
    ("https://evil.example", "/queue"), ("javascript:alert(1)", "/queue"),
])
def test_login_redirects_only_to_local_paths(value: str, expected: str) -> None:
    assert _safe_next(value) == expected


def test_core_errors_are_worded_in_french_from_their_code() -> None:
    coded = NotFound("ticket #12 not found", code=ErrorCode.TICKET_NOT_FOUND, number=12)
    assert user_message_fr(coded) == "ticket n° 12 introuvable"
    assert user_message_fr(InvalidTransition("closed", "reopen")) == "action impossible sur un ticket « Fermé »"
    assert user_message_fr(ValidationError("déjà en français")) == "déjà en français"  # no code: as raised
    forgot = ValidationError("x", code=ErrorCode.TICKET_NOT_FOUND)  # a raise site without its parameter
    assert user_message_fr(forgot) == "ticket n°"


def test_every_error_code_has_its_french_text() -> None:
    assert set(CATALOGUE) == set(ErrorCode)
