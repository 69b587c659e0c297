"""The validation helpers of the web edge: identifiers, JSON depth, tags, French error wording."""

from __future__ import annotations

import pydantic
import pytest

from helpdesk.domain.errors import ValidationError
from helpdesk.domain.ids import DB_INT_MAX, parse_id
from helpdesk.web.api import TextBody, TicketChanges
from helpdesk.web.validation import (
    MAX_JSON_DEPTH,
    TAG_MAX,
    TAGS_MAX,
    french_errors,
    has_bad_chars,
    json_depth_exceeds,
    tags_from_text,
)


@pytest.mark.parametrize("raw", ["", "²", "١٢", " 1", "-1", "1.0", "0x10", str(DB_INT_MAX + 1), "9" * 5000, "0"])
def test_parse_id_refuses_what_is_not_a_database_id(raw: str) -> None:
    assert parse_id(raw) is None


def test_parse_id_accepts_the_whole_range() -> None:
    assert parse_id("1") == 1 and parse_id(str(DB_INT_MAX)) == DB_INT_MAX
    assert parse_id("0", minimum=0) == 0


def test_json_depth_limit_counts_brackets_outside_strings() -> None:
    deep_ok = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    too_deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    assert not json_depth_exceeds(deep_ok)
    assert json_depth_exceeds(too_deep)
    assert json_depth_exceeds(b"[" * 100_000 + b"]" * 100_000)
    assert json_depth_exceeds(b'{"a":' * 40 + b"1" + b"}" * 40)
    # Brackets inside strings (escaped quotes included) do not count; siblings are not depth.
    assert not json_depth_exceeds(b'{"text": "' + b"[" * 1000 + b'\\"[[[[" }')
    assert not json_depth_exceeds(b"[" + b"[]," * 10_000 + b"[]]")


def test_json_depth_scan_is_linear_on_unterminated_escaped_quotes() -> None:
    # Each quote is escaped, none closes: a rescanning pattern would be quadratic here.
    hostile = b'"' + b'\\"' * 300_000
    assert json_depth_exceeds(hostile) is False


def test_bad_characters() -> None:
    assert has_bad_chars("a\x00b") and has_bad_chars("a\ud800b")
    assert not has_bad_chars("Données ouvertes 😀")


def test_tags_from_the_form_are_bounded() -> None:
    assert tags_from_text("scdl, budget ;; voirie") == ["scdl", "budget", "voirie"]
    with pytest.raises(ValidationError, match="trop d'étiquettes"):
        tags_from_text(",".join(f"t{i}" for i in range(TAGS_MAX + 1)))
    with pytest.raises(ValidationError, match="trop longue"):
        tags_from_text("x" * (TAG_MAX + 1))


@pytest.mark.parametrize(("raw", "expected"), [
    (b'{"assignee_id": true}', "« assignee_id » : un entier est attendu"),
    (b'{"assignee_id": 9223372036854775808}', "« assignee_id » : valeur trop grande"),
    (b'{"assignee_id": 0}', "« assignee_id » : valeur trop petite"),
    (b'{"status": null}', "ne peut pas être null"),
    (b'{"status": "nimporte"}', "« status » : valeur non permise"),
    (b'{"tags": ["a", 3]}', "« tags.1 » : une chaîne de caractères est attendue"),
    (b'{"couleur": "rouge"}', "« couleur » : champ inconnu"),
])
def test_ticket_changes_are_strict_and_answered_in_french(raw: bytes, expected: str) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        TicketChanges.model_validate_json(raw)
    assert expected in french_errors(info.value)


@pytest.mark.parametrize(("raw", "expected"), [
    (b'{"text": null}', "une chaîne de caractères est attendue"),
    (b'{"text": ""}', "ne peut pas être vide"),
    (b'{"text": "a\\u0000b"}', "caractère interdit"),
    (b'{"text": "\\ud800"}', "corps JSON invalide"),
    (b'[1]', "un objet JSON est attendu"),
    (b'{}', "« text » : champ obligatoire"),
])
def test_text_bodies(raw: bytes, expected: str) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        TextBody.model_validate_json(raw)
    assert expected in french_errors(info.value)


def test_valid_changes_keep_only_what_was_sent() -> None:
    changes = TicketChanges.model_validate_json(b'{"assignee_id": null, "tags": ["scdl"]}')
    assert changes.model_fields_set == {"assignee_id", "tags"} and changes.assignee_id is None


def test_client_address_only_from_trusted_proxies() -> None:
    from helpdesk.web.throttle import client_address

    assert client_address("198.51.100.1", ["192.0.2.7"], []) == "198.51.100.1"  # no trusted proxy: the peer
    assert client_address("198.51.100.1", ["192.0.2.7"], ["127.0.0.1/32"]) == "198.51.100.1"  # untrusted peer
    assert client_address("127.0.0.1", ["192.0.2.7"], ["127.0.0.1/32"]) == "192.0.2.7"
    assert client_address("127.0.0.1", ["6.6.6.6, 192.0.2.7"], ["127.0.0.1/32"]) == "192.0.2.7"  # spoofed left
    assert client_address("10.0.0.2", ["192.0.2.7, 10.0.0.1"], ["10.0.0.0/8"]) == "192.0.2.7"  # two proxies
    assert client_address("::1", ["2001:db8::5"], ["::1/128"]) == "2001:db8::5"
    assert client_address("127.0.0.1", [], ["127.0.0.1/32"]) == "127.0.0.1"
