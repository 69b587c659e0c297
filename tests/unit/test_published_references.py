"""Recognising references to published data in message text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.published.references import MAX_REFERENCES, Reference, RefKind, find_references, reference_of_url

RID = "3c3d5d34-5c66-4d54-9f31-34f1b1d7d8b2"
REC = "955c3e47-411e-4969-b61b-3556d1b9f879"


def kinds(text: str) -> list[tuple[str, str]]:
    return [(r.kind.value, r.value) for r in find_references(text)]


def test_dataset_page_url_with_and_without_language() -> None:
    assert kinds("Ma fiche https://www.data.gouv.fr/fr/datasets/subventions-de-lannion/ n'apparaît pas.") == [
        ("dataset", "subventions-de-lannion")]
    assert kinds("https://data.gouv.fr/datasets/budget-primitif-2025") == [("dataset", "budget-primitif-2025")]


def test_resource_permalink_and_fragment_name_the_resource_and_its_dataset() -> None:
    [permalink] = find_references(f"le fichier https://www.data.gouv.fr/fr/datasets/r/{RID} est faux")
    assert permalink == Reference(RefKind.RESOURCE, RID, f"https://www.data.gouv.fr/fr/datasets/r/{RID}")
    [frag] = find_references(f"https://www.data.gouv.fr/fr/datasets/budget-2024/#/resources/{RID}.")
    assert (frag.kind, frag.value, frag.dataset) == (RefKind.RESOURCE, RID, "budget-2024")
    [old_frag] = find_references(f"https://www.data.gouv.fr/fr/datasets/budget-2024/#resource-{RID}")
    assert old_frag.dataset == "budget-2024"


def test_api_urls() -> None:
    assert kinds("https://www.data.gouv.fr/api/1/datasets/5448d3e0c751df01f85d0572/") == [
        ("dataset", "5448d3e0c751df01f85d0572")]
    [r] = find_references(f"https://www.data.gouv.fr/api/1/datasets/budget-2024/resources/{RID}/")
    assert (r.kind, r.value, r.dataset) == (RefKind.RESOURCE, RID, "budget-2024")
    assert kinds(f"https://www.data.gouv.fr/api/2/datasets/resources/{RID}/") == [("resource", RID)]


def test_bare_slug_only_when_introduced() -> None:
    assert kinds("jeu de données : deliberations-conseil-municipal") == [("dataset", "deliberations-conseil-municipal")]
    assert kinds("le jeu de données « budget-primitif-2025 » est en retard") == [("dataset", "budget-primitif-2025")]
    assert kinds("Nous avons voté le budget-primitif-2025 hier") == []  # not introduced
    assert kinds("jeu de données : budget") == []  # not a slug (no hyphen)
    assert kinds("Le jeu de données est-il bien publié ?") == []  # a French word with a hyphen is not a slug
    assert kinds("le jeu de données budget-primitif-2025 est faux") == [("dataset", "budget-primitif-2025")]
    assert kinds("dataset : 5448d3e0c751df01f85d0572") == [("dataset", "5448d3e0c751df01f85d0572")]


def test_catalogue_record_links_and_bare_uuids() -> None:
    text = (f"https://geobretagne.fr/geonetwork/srv/fre/catalog.search#/metadata/{REC} et "
            "https://geobretagne.fr/geonetwork/srv/api/records/11111111-2222-3333-4444-555555555555/formatters/xml "
            "et https://cat.example.fr/geonetwork/srv/fre/metadata.show?uuid=abc-123 "
            f"et l'identifiant 01234567-89ab-cdef-0123-456789abcdef")
    assert kinds(text) == [("record", REC), ("record", "11111111-2222-3333-4444-555555555555"),
                           ("record", "abc-123"), ("uuid", "01234567-89ab-cdef-0123-456789abcdef")]


def test_a_uuid_inside_a_link_is_not_also_a_bare_uuid() -> None:
    assert kinds(f"https://www.data.gouv.fr/fr/datasets/r/{RID} ({RID})") == [("resource", RID)]


def test_file_links_any_host_any_case() -> None:
    text = ("https://exemple.fr/data/export.CSV?x=1, https://exemple.fr/a/b.xlsx https://exemple.fr/c.zip "
            "https://exemple.fr/fiche.xml https://exemple.fr/d.json https://exemple.fr/page.html")
    assert [r.kind for r in find_references(text)] == [RefKind.FILE] * 5
    assert find_references(text)[0].value == "https://exemple.fr/data/export.CSV?x=1"


def test_other_links_and_plain_text_give_nothing() -> None:
    assert kinds("https://www.data.gouv.fr/fr/organizations/ville-de-lannion/ https://www.craig.fr/contact") == []
    assert kinds("https://www.data.gouv.fr/fr/datasets/search/") == []
    assert reference_of_url("ftp://exemple.fr/a.csv") is None
    assert reference_of_url("https://[::1") is None  # malformed


def test_each_reference_once_and_at_most_the_cap() -> None:
    once = "https://www.data.gouv.fr/fr/datasets/mon-jeu/ " * 3
    assert kinds(once) == [("dataset", "mon-jeu")]
    many = " ".join(f"https://exemple.fr/f{i}.csv" for i in range(50))
    refs = find_references(many)
    assert len(refs) == MAX_REFERENCES
    assert refs[0].value.endswith("/f0.csv")


def test_hostile_text_is_read_in_bounded_work() -> None:
    # Long runs that defeat naive patterns: a huge URL, thousands of near-UUIDs, a megabyte of text.
    hostile = ("https://" + "a" * 50_000 + ".csv " + "0123456789ab-" * 20_000 + "jeu de données " * 10_000) * 3
    refs = find_references(hostile)
    assert len(refs) <= MAX_REFERENCES


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("https:/.wdatgouvfr-0123456789abcdef#?=& «»:jeu") + [" ", "\n"]),
               max_size=400))
def test_never_raises_and_never_exceeds_the_cap(text: str) -> None:
    refs = find_references(text)
    assert len(refs) <= MAX_REFERENCES
    assert len({r.key() for r in refs}) == len(refs)
