"""Splitting an intake batch into waves of messages that do not depend on one another."""

from __future__ import annotations

from helpdesk.app.intake.messages import InboundMessage
from helpdesk.app.intake.waves import split_waves
from helpdesk.domain.values import Channel


def m(ext: str | None, *, irt: tuple[str, ...] = (), refs: tuple[str, ...] = (),
      channel: Channel = Channel.EMAIL) -> InboundMessage:
    return InboundMessage(channel=channel, external_id=ext, in_reply_to=irt, references=refs)


def ids(waves: list[list[InboundMessage]]) -> list[list[str | None]]:
    return [[x.external_id for x in w] for w in waves]


def test_independent_messages_make_one_wave() -> None:
    assert ids(split_waves([m("a"), m("b"), m(None), m("c", irt=("old",))])) == [["a", "b", None, "c"]]


def test_a_second_copy_starts_a_new_wave() -> None:
    assert ids(split_waves([m("a"), m("b"), m("a"), m("c")])) == [["a", "b"], ["a", "c"]]


def test_a_reply_to_a_message_of_the_batch_starts_a_new_wave() -> None:
    assert ids(split_waves([m("a"), m("r", irt=("a",)), m("s", refs=("x", "r"))])) == [["a"], ["r"], ["s"]]


def test_same_id_on_another_channel_is_independent() -> None:
    assert ids(split_waves([m("1"), m("1", channel=Channel.TELEGRAM)])) == [["1", "1"]]


def test_empty_batch() -> None:
    assert split_waves([]) == []
