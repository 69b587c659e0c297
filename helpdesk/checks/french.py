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
