"""French identifiers: SIREN and SIRET (validity from frformat, causes said here), INSEE commune codes' form,
France's extent."""

from __future__ import annotations

import re

LA_POSTE_SIREN = "356000000"  # La Poste's establishments break the Luhn rule: digit sum divisible by 5
INSEE_RE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")

# Bounding boxes (lon min, lat min, lon max, lat max) of metropolitan France and the overseas territories.
FRANCE_BOXES: dict[str, tuple[float, float, float, float]] = {
    "métropole et Corse": (-5.8, 41.0, 10.0, 51.5),
    "Guadeloupe": (-61.9, 15.8, -60.9, 16.6),
    "Martinique": (-61.3, 14.3, -60.7, 15.0),
    "Guyane": (-54.7, 2.0, -51.5, 6.0),
    "La Réunion": (55.1, -21.5, 56.0, -20.8),
    "Mayotte": (44.9, -13.1, 45.4, -12.5),
    "Saint-Pierre-et-Miquelon": (-56.6, 46.7, -56.0, 47.2),
    "Saint-Martin et Saint-Barthélemy": (-63.2, 17.8, -62.7, 18.2),
    "Polynésie française": (-155.0, -28.0, -134.0, -7.0),
    "Nouvelle-Calédonie": (163.0, -23.0, 169.0, -19.0),
    "Wallis-et-Futuna": (-178.3, -14.5, -176.0, -13.1),
}
# Lambert-93 (EPSG:2154) extent of metropolitan France, in metres.
LAMBERT93_BOX = (50_000.0, 6_000_000.0, 1_300_000.0, 7_150_000.0)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def siren_problem(value: str) -> str | None:
    """Why this is not a valid SIREN, or None."""
    if not value.isdigit() or len(value) != 9:
        if value.replace(" ", "").isdigit() and len(value.replace(" ", "")) == 9:
            return "contient des espaces"
        return "doit compter exactement 9 chiffres"
    from helpdesk.checks.french import siren_valid

    return None if siren_valid(value) else "clé de contrôle (Luhn) incorrecte"


def siret_problem(value: str) -> str | None:
    """Why this is not a valid SIRET, or None."""
    if not value.isdigit() or len(value) != 14:
        compact = value.replace(" ", "")
        if compact.isdigit() and len(compact) == 14:
            return "contient des espaces"
        if compact.isdigit() and len(compact) == 13:
            return "13 chiffres, le zéro initial a sans doute été perdu : mettez la colonne au format texte"
        if re.fullmatch(r"\d(?:[.,]\d+)?[eE]\+?\d+", compact):
            return "écrit en notation scientifique par le tableur : mettez la colonne au format texte"
        if re.fullmatch(r"\d{13,14}[.,]0+", compact):
            return "écrit comme un nombre à virgule (« .0 ») par le tableur : mettez la colonne au format texte"
        if compact.isdigit() and len(compact) == 9:
            return ("9 chiffres : c'est un SIREN ; le SIRET y ajoute les 5 chiffres (NIC) de l'établissement, "
                    "à trouver sur l'annuaire des entreprises")
        return "doit compter exactement 14 chiffres"
    from helpdesk.checks.french import siret_valid

    if siret_valid(value):
        return None
    return "clé de contrôle (Luhn) incorrecte"


def insee_problem(value: str) -> str | None:
    """Why this does not have the form of an INSEE commune code (5 characters, 2A/2B for Corsica)."""
    if INSEE_RE.match(value):
        return None
    if value.isdigit() and len(value) == 4:
        return "4 chiffres, le zéro initial a sans doute été perdu : 01053 et non 1053"
    if value.isdigit() and len(value) == 5:
        return None
    return "doit compter 5 caractères (chiffres, ou 2A/2B pour la Corse)"


def in_france(lon: float, lat: float) -> bool:
    return any(x0 <= lon <= x1 and y0 <= lat <= y1 for x0, y0, x1, y1 in FRANCE_BOXES.values())


def in_lambert93(x: float, y: float) -> bool:
    x0, y0, x1, y1 = LAMBERT93_BOX
    return x0 <= x <= x1 and y0 <= y <= y1


def outside_hint(lon: float, lat: float) -> str:
    """A likely cause for a point outside France, in French."""
    if in_france(lat, lon):
        return "latitude et longitude semblent inversées"
    if in_lambert93(lon, lat):
        return "les valeurs ressemblent à du Lambert-93 (mètres) et non à des degrés WGS84"
    if lon == 0 and lat == 0:
        return "point (0, 0) : coordonnées manquantes remplacées par zéro ?"
    return "vérifiez le système de coordonnées (WGS84 attendu, en degrés décimaux)"
