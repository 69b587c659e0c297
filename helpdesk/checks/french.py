"""French reference lists from frformat (data.gouv.fr's formats): communes of the Code officiel
géographique, postcodes. A code is a commune when it is one in the 2024 or the 2023 COG (files sent in
early 2024 still use 2023 codes); municipal arrondissements (Paris, Lyon, Marseille) count as communes.
"""

from __future__ import annotations

from functools import cache

COG_LABEL = "COG 2024"


@cache
def _communes() -> frozenset[str]:
    from frformat import CodeCommuneInsee, Millesime

    out: set[str] = set()
    for vintage in (Millesime.M2023, Millesime.M2024):
        out |= CodeCommuneInsee(vintage).get_valid_values_set()
    return frozenset(out)


@cache
def _postcode_format() -> object:
    from frformat import CodePostal

    return CodePostal()


def is_commune(code: str) -> bool:
    return code.upper() in _communes()


def is_postcode(code: str) -> bool:
    fmt = _postcode_format()
    return bool(fmt.is_valid(code)) and not is_commune(code)  # type: ignore[attr-defined]


@cache
def _departements() -> frozenset[str]:
    from frformat import CodeDepartement, Millesime

    return frozenset(CodeDepartement(Millesime.M2024).get_valid_values_set())


@cache
def _regions() -> frozenset[str]:
    from frformat import CodeRegion, Millesime

    return frozenset(CodeRegion(Millesime.M2024).get_valid_values_set())


def departement_problem(value: str) -> str | None:
    """Why this is not a département code of the COG (01…95, 2A, 2B, 971…976), or None."""
    v = value.strip().upper()
    if v in _departements():
        return None
    if v.isdigit() and len(v) == 1 and f"0{v}" in _departements():
        return f"le zéro initial a sans doute été perdu : 0{v} et non {v}"
    return "n'est pas un département du code officiel géographique"


def region_problem(value: str) -> str | None:
    """Why this is not a région code of the COG (11, 24…, 01…06 overseas), or None."""
    v = value.strip()
    return None if v in _regions() else "n'est pas une région du code officiel géographique"


def siret_valid(value: str) -> bool:
    """frformat's SIRET rule (python-stdnum: Luhn key, La Poste's establishments)."""
    from frformat import Siret

    return bool(Siret().is_valid(value))


def siren_valid(value: str) -> bool:
    from frformat import Siren

    return bool(Siren().is_valid(value))
