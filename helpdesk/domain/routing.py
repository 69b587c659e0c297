"""Routing rules: which team, priority and tags a new ticket gets, and who in the team takes it.

Rules are evaluated in order. Every condition a rule sets must hold (an unset condition matches
anything; a list matches any of its values). For team, priority and the assignment mode the first
matching rule that sets them wins; tags add up; a rule with ``stop`` ends the evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class AssignMode(StrEnum):
    ROUND_ROBIN = "round_robin"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class RoutingInput:
    """What is known about a new ticket when it is routed."""

    channel: str
    organization: str | None = None
    pays: str | None = None
    organization_kind: str | None = None
    faq_tags: frozenset[str] = frozenset()  # tags of the best FAQ suggestion, if any


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    channels: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    pays: tuple[str, ...] = ()
    organization_kinds: tuple[str, ...] = ()
    faq_tags: tuple[str, ...] = ()  # matches when the suggestion carries any of them
    team: str | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()
    assign: AssignMode | None = None
    stop: bool = False

    def matches(self, t: RoutingInput) -> bool:
        def one_of(value: str | None, allowed: tuple[str, ...]) -> bool:
            if not allowed:
                return True
            return value is not None and value.casefold() in {a.casefold() for a in allowed}

        if not one_of(t.channel, self.channels) or not one_of(t.organization, self.organizations):
            return False
        if not one_of(t.pays, self.pays) or not one_of(t.organization_kind, self.organization_kinds):
            return False
        if self.faq_tags:
            wanted = {tag.casefold() for tag in self.faq_tags}
            return bool(wanted & {tag.casefold() for tag in t.faq_tags})
        return True


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    team: str | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()
    assign: AssignMode = AssignMode.ROUND_ROBIN
    matched: tuple[str, ...] = field(default_factory=tuple)


def route(t: RoutingInput, rules: Sequence[Rule]) -> RoutingDecision:
    team: str | None = None
    priority: str | None = None
    assign: AssignMode | None = None
    tags: list[str] = []
    matched: list[str] = []
    for rule in rules:
        if not rule.matches(t):
            continue
        matched.append(rule.name)
        team = team or rule.team
        priority = priority or rule.priority
        assign = assign or rule.assign
        tags.extend(tag for tag in rule.tags if tag not in tags)
        if rule.stop:
            break
    return RoutingDecision(team, priority, tuple(tags), assign or AssignMode.ROUND_ROBIN, tuple(matched))


def round_robin(available: Sequence[int], last: int | None) -> int | None:
    """The staff member after ``last`` among the available ones (by id, wrapping round)."""
    pool = sorted(set(available))
    if not pool:
        return None
    if last is None:
        return pool[0]
    return next((staff for staff in pool if staff > last), pool[0])
