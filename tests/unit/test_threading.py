from __future__ import annotations

import pytest

from helpdesk.domain.threading import (
    ThreadEvidence,
    ThreadVia,
    decide_thread,
    strip_reply_prefixes,
    subject_ticket_number,
)


def test_in_reply_to_wins_over_references_and_tag() -> None:
    ev = ThreadEvidence(in_reply_to_ticket=1, references_ticket=2, tag_ticket=3, tag_from_participant=True)
    d = decide_thread(ev)
    assert (d.ticket_id, d.via) == (1, ThreadVia.IN_REPLY_TO)


def test_references_then_tag() -> None:
    assert decide_thread(ThreadEvidence(references_ticket=2, tag_ticket=3)).via is ThreadVia.REFERENCES
    d = decide_thread(ThreadEvidence(tag_ticket=3, tag_from_participant=True))
    assert (d.ticket_id, d.via) == (3, ThreadVia.TAG)


def test_tag_from_outsider_opens_linked_ticket() -> None:
    d = decide_thread(ThreadEvidence(tag_ticket=3, tag_from_participant=False))
    assert d.ticket_id is None and d.link_to == 3 and "not a participant" in d.reason


def test_force_new_and_nothing_known() -> None:
    assert decide_thread(ThreadEvidence(in_reply_to_ticket=1, force_new=True)).ticket_id is None
    assert decide_thread(ThreadEvidence()).via is ThreadVia.NEW


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("RE: [#1042] Publication budget", 1042),
        ("TR: Réf. : [#7] x", 7),
        ("Question sur [#abc]", None),
        ("", None),
    ],
)
def test_subject_tag(subject: str, number: int | None) -> None:
    assert subject_ticket_number(subject) == number


def test_strip_reply_prefixes() -> None:
    assert strip_reply_prefixes("RE: TR: Fwd: AW: Réf. : Budget 2025") == "Budget 2025"
    assert strip_reply_prefixes("Re : [#12] Budget") == "[#12] Budget"
