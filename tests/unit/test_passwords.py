"""The staff password policy: length, the bundled common list (also decorated), trivial patterns, personal data."""

from __future__ import annotations

import pytest

from helpdesk.app.staff.passwords import MIN_LENGTH, common_passwords, problem


def test_the_bundled_list_is_there() -> None:
    common = common_passwords()
    assert len(common) == 10_000 and {"password", "123456", "qwerty"} <= common


@pytest.mark.parametrize("password", [
    "court", "x" * (MIN_LENGTH - 1),  # too short
    "Password2024!", "dragon123456", "iloveyou1234", "!!football2023!!", "PASSWORD1234",  # common, decorated
    "aaaaaaaaaaaa", "abcabcabcabc", "123456789012", "987654321098", "azertyuiopqs", "zyxwvutsrqpo",  # trivial
    "jean.dupont-cantal",  # the account's own address
])
def test_refused(password: str) -> None:
    assert problem(password, email="jean.dupont@craig.fr", name="Jean Dupont") is not None


@pytest.mark.parametrize("password", ["motdepasse-solide", "correct horse battery staple", "Murat-Cantal-2026",
                                      "Ver7-Salers-Pluie", "un-mot-de-passe-long"])
def test_accepted(password: str) -> None:
    assert problem(password, email="jean.dupont@craig.fr", name="Jean Dupont") is None


def test_reasons_are_french() -> None:
    assert "12 caractères" in (problem("court") or "")
    assert "plus courants" in (problem("Password2024!") or "")
    assert "trop simple" in (problem("aaaaaaaaaaaa") or "")
