"""Routing rules in order, and round robin among available staff."""

from __future__ import annotations

from helpdesk.domain.routing import AssignMode, RoutingInput, Rule, round_robin, route

RULES = [
    Rule("urgent telegram", channels=("telegram",), priority="high"),
    Rule("budgets", faq_tags=("budget", "scdl"), team="Finances", tags=("budget",)),
    Rule("Pays de Mauriac", pays=("Pays de Mauriac",), team="Cantal", tags=("cantal",), assign=AssignMode.MANUAL),
    Rule("communes", organization_kinds=("commune",), team="Communes", priority="normal", tags=("commune",)),
    Rule("catch-all", team="Général", stop=True),
    Rule("never reached", team="Nobody", tags=("never",)),
]


def test_first_rule_setting_a_field_wins_and_tags_add_up() -> None:
    d = route(RoutingInput("email", pays="pays de mauriac", organization_kind="commune"), RULES)
    assert d.team == "Cantal" and d.priority == "normal" and d.assign is AssignMode.MANUAL
    assert d.tags == ("cantal", "commune")
    assert d.matched == ("Pays de Mauriac", "communes", "catch-all")


def test_faq_tags_of_the_best_suggestion_route_to_a_team() -> None:
    d = route(RoutingInput("telegram", faq_tags=frozenset({"SCDL", "subventions"})), RULES)
    assert (d.team, d.priority, d.tags) == ("Finances", "high", ("budget",))
    assert d.assign is AssignMode.ROUND_ROBIN


def test_stop_ends_evaluation_and_nothing_matches_without_rules() -> None:
    d = route(RoutingInput("web"), RULES)
    assert d.team == "Général" and "never" not in d.tags and d.matched == ("catch-all",)
    assert route(RoutingInput("web"), []) == route(RoutingInput("email"), [])


def test_conditions_must_all_hold() -> None:
    rule = Rule("epci email", channels=("email",), organization_kinds=("epci",),
                organizations=("CC du Pays de Salers",), team="T")
    assert rule.matches(RoutingInput("email", organization="cc du pays de salers", organization_kind="epci"))
    assert not rule.matches(RoutingInput("telegram", organization="CC du Pays de Salers", organization_kind="epci"))
    assert not rule.matches(RoutingInput("email", organization=None, organization_kind="epci"))


def test_round_robin_cycles_through_available_staff() -> None:
    assert round_robin([], None) is None
    assert round_robin([7, 3, 5], None) == 3
    assert round_robin([7, 3, 5], 3) == 5
    assert round_robin([7, 3, 5], 7) == 3
    assert round_robin([7, 3], 4) == 7  # the last one is no longer available: the next one after him
