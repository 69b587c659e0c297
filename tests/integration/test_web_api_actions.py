"""The API's staff actions on both databases: merge, link, split, resend, attachments, FAQ draft, phone
tickets, canned responses. Each is the page's use case: the same refusals and the same audit events."""

from __future__ import annotations

from typing import Any

from helpdesk.domain.values import IntakeAction
from helpdesk.services import Services
from tests.support.web import add_staff, attachment, login, mail, web_client


async def _bearer(services: Services, staff_id: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {await services.auth.create_api_token(staff_id, 'test')}"}


def _audit(events: list[dict[str, Any]], since: int) -> list[tuple[str, str, dict[str, Any]]]:
    """The events written after ``since``, without their times (the UI and the API write them apart)."""
    return [(e["kind"], e["actor_kind"], e["data"]) for e in events[since:]]


async def _number(services: Services, ext: str, **kw: Any) -> int:
    n = (await services.intake.receive(mail(ext, **kw))).ticket_number
    assert n is not None
    return n


async def test_merge_and_link_write_the_same_audit_as_the_page(services: Services) -> None:
    _, agent = await add_staff(services)
    bearer = await _bearer(services, agent)
    ui_src, ui_dst = await _number(services, "<m1@x>"), await _number(services, "<m2@x>", sender_email="b@y.fr")
    api_src, api_dst = await _number(services, "<m3@x>"), await _number(services, "<m4@x>", sender_email="c@y.fr")
    marks = {n: len(await services.tickets.events(n)) for n in (ui_src, ui_dst, api_src, api_dst)}
    async with web_client(services) as client:
        token = await login(client, "agent@craig.fr")
        for action, field in (("merge", "target"), ("link", "other")):  # not following the redirect (a view)
            done = await client.post(f"/tickets/{ui_src}/{action}", allow_redirects=False,
                                     data={"csrf_token": token, field: str(ui_dst)})
            assert done.status == 303
        resp = await client.post(f"/api/v1/tickets/{api_src}/merge", json={"target": api_dst}, headers=bearer)
        assert resp.status == 200 and (await resp.json())["number"] == api_dst
        resp = await client.post(f"/api/v1/tickets/{api_src}/links", json={"other": api_dst}, headers=bearer)
        assert resp.status == 201 and await resp.json() == {"number": api_src, "other": api_dst, "kind": "related"}
        # Refusals in French, nothing written: itself, twice, a missing ticket, a bad body.
        again = await client.post(f"/api/v1/tickets/{api_src}/merge", json={"target": api_dst}, headers=bearer)
        assert again.status == 400 and "déjà fusionné" in (await again.json())["error"]
        itself = await client.post(f"/api/v1/tickets/{api_dst}/links", json={"other": api_dst}, headers=bearer)
        assert itself.status == 400 and "lui-même" in (await itself.json())["error"]
        missing = await client.post(f"/api/v1/tickets/{api_dst}/merge", json={"target": 99999}, headers=bearer)
        assert missing.status == 404 and (await missing.json())["error"] == "ticket n° 99999 introuvable"
        wrong = await client.post(f"/api/v1/tickets/{api_dst}/merge", json={"target": "1001"}, headers=bearer)
        assert wrong.status == 400 and "« target » : un entier est attendu" in (await wrong.json())["error"]
        unknown = await client.post(f"/api/v1/tickets/{api_dst}/links", json={"other": 1, "x": 1}, headers=bearer)
        assert unknown.status == 400 and "champ inconnu" in (await unknown.json())["error"]

    def renumbered(rows: list[tuple[str, str, dict[str, Any]]], src: int, dst: int) -> list[Any]:
        swap = {src: "SRC", dst: "DST"}
        return [(k, a, {key: swap.get(v, v) for key, v in d.items()}) for k, a, d in rows]

    for ui, api in ((ui_src, api_src), (ui_dst, api_dst)):
        ui_rows = renumbered(_audit(await services.tickets.events(ui), marks[ui]), ui_src, ui_dst)
        api_rows = renumbered(_audit(await services.tickets.events(api), marks[api]), api_src, api_dst)
        assert ui_rows == api_rows and ui_rows  # merged (and closed on the source), linked
    assert (await services.tickets.get_json(api_src))["status"] == "closed"


async def test_split_resend_attachment_and_faq_draft(services: Services) -> None:
    _, agent = await add_staff(services)
    bearer = await _bearer(services, agent)
    n = await _number(services, "<s1@x>")
    stray = await services.intake.receive(mail(
        "<s2@x>", sender_email="marc@mairie-murat.fr", subject="RE: Subventions", text="Autre sujet",
        in_reply_to=("<s1@x>",), attachments=(attachment("subventions.csv", "text/csv", b"a;b\n1;2\n"),)))
    assert stray.action is IntakeAction.APPENDED and stray.ticket_number == n
    async with web_client(services) as client:
        one = await (await client.get(f"/api/v1/tickets/{n}", headers=bearer)).json()
        att = next(a for m in one["messages"] for a in m["attachments"])
        got = await client.get(f"/api/v1/tickets/{n}/attachments/{att['id']}", headers=bearer)
        assert got.status == 200 and await got.read() == b"a;b\n1;2\n"
        assert got.headers["Content-Type"] == "application/octet-stream"
        assert "attachment" in got.headers["Content-Disposition"]
        assert (await client.get(f"/api/v1/tickets/{n}/attachments/999999", headers=bearer)).status == 404

        resp = await client.post(f"/api/v1/tickets/{n}/messages/{stray.message_id}/split", headers=bearer)
        new = await resp.json()
        assert resp.status == 201 and new["number"] != n and new["requester"]["email"] == "marc@mairie-murat.fr"
        assert [m["direction"] for m in new["messages"]] == ["inbound", "note"]
        kinds = [e["kind"] for e in await services.tickets.events(new["number"])]
        assert kinds == ["ticket.created", "ticket.split"]
        only = await client.post(f"/api/v1/tickets/{n}/messages/{one['messages'][0]['id']}/split", headers=bearer)
        assert only.status == 400 and "seul message reçu" in (await only.json())["error"]
        elsewhere = await client.post(f"/api/v1/tickets/{n}/messages/{stray.message_id}/split", headers=bearer)
        assert elsewhere.status == 404

        no_reply = await client.post(f"/api/v1/tickets/{n}/faq-draft", headers=bearer)
        assert no_reply.status == 400 and "une demande et une réponse" in (await no_reply.json())["error"]
        reply = await client.post(f"/api/v1/tickets/{n}/reply", json={"text": "Voici la marche à suivre."},
                                  headers=bearer)
        message_id = (await reply.json())["message_id"]
        draft = await client.post(f"/api/v1/tickets/{n}/faq-draft", headers=bearer)
        assert draft.status == 201 and (await draft.json())["status"] == "draft"
        assert (await services.kb_admin.get((await draft.json())["entry_id"])).status == "draft"

        again = await client.post(f"/api/v1/tickets/{n}/messages/{message_id}/resend", headers=bearer)
        assert again.status == 200 and (await again.json())["delivery_status"] == "queued"
        nothing = await client.post(f"/api/v1/tickets/{n}/messages/{stray.message_id}/resend", headers=bearer)
        assert nothing.status == 404 and (await nothing.json())["error"] == "envoi introuvable sur ce ticket"


async def test_phone_ticket_as_the_phone_form(services: Services) -> None:
    _, agent = await add_staff(services)
    bearer = await _bearer(services, agent)
    async with web_client(services) as client:
        resp = await client.post("/api/v1/phone-tickets", headers=bearer, json={
            "caller_name": "Mme Durand", "caller_email": "durand@mairie-murat.fr", "org_name": "Mairie de Murat",
            "org_kind": "commune", "subject": "Budget en CSV", "request": "Comment publier le budget ?",
            "note": "Rappeler jeudi."})
        body = await resp.json()
        assert resp.status == 201 and body["channel"] == "phone" and body["subject"] == "Budget en CSV"
        assert body["requester"] == {"email": "durand@mairie-murat.fr", "name": "Mme Durand",
                                     "organization": "Mairie de Murat"}
        assert [(m["direction"], m["text"]) for m in body["messages"]] == [
            ("inbound", "Comment publier le budget ?"), ("note", "Rappeler jeudi.")]
        nobody = await client.post("/api/v1/phone-tickets", headers=bearer, json={"request": "Une question"})
        assert nobody.status == 400
        assert (await nobody.json())["error"] == "indiquez au moins le nom ou l'adresse de l'appelant"
        for bad, says in (({"caller_name": "X"}, "« request » : champ obligatoire"),
                          ({"caller_name": "X", "request": "?", "org_kind": "canton"}, "« org_kind » : valeur"),
                          ({"caller_name": "X", "request": "?", "caller_email": "pas-une-adresse"},
                           "adresse électronique invalide"),
                          ({"caller_name": "X", "request": "a\x00b"}, "NUL")):
            refused = await client.post("/api/v1/phone-tickets", headers=bearer, json=bad)
            assert refused.status == 400 and says in (await refused.json())["error"], bad
    listing = await services.tickets.list()
    assert len(listing) == 1  # the refusals opened nothing


async def test_canned_responses_staff_read_admins_write(services: Services) -> None:
    admin, agent = await add_staff(services)
    as_admin, as_agent = await _bearer(services, admin), await _bearer(services, agent)
    async with web_client(services) as client:
        denied = await client.post("/api/v1/canned-responses", headers=as_agent,
                                   json={"title": "Accusé", "body": "Bien reçu."})
        assert denied.status == 403 and (await denied.json())["error"] == "action réservée aux administrateurs"
        made = await client.post("/api/v1/canned-responses", headers=as_admin,
                                 json={"title": "Accusé", "body": "Bien reçu."})
        canned = await made.json()
        assert made.status == 201 and canned["title"] == "Accusé" and canned["active"] is True
        listing = await (await client.get("/api/v1/canned-responses", headers=as_agent)).json()
        assert listing["items"] == [canned]
        got = await client.get(f"/api/v1/canned-responses/{canned['id']}", headers=as_agent)
        assert await got.json() == canned
        retired = await client.put(f"/api/v1/canned-responses/{canned['id']}", headers=as_admin,
                                   json={"title": "Accusé", "body": "Bien reçu.", "active": False})
        assert retired.status == 200 and (await retired.json())["active"] is False
        assert (await (await client.get("/api/v1/canned-responses", headers=as_agent)).json())["items"] == []
        assert (await client.get(f"/api/v1/canned-responses/{canned['id']}", headers=as_agent)).status == 403
        assert (await client.get("/api/v1/canned-responses?retired=true", headers=as_agent)).status == 403
        everything = await (await client.get("/api/v1/canned-responses?retired=true", headers=as_admin)).json()
        assert [c["id"] for c in everything["items"]] == [canned["id"]]
        blank = await client.put(f"/api/v1/canned-responses/{canned['id']}", headers=as_admin,
                                 json={"title": " ", "body": "x"})
        assert blank.status == 400 and "obligatoires" in (await blank.json())["error"]
        missing = await client.get("/api/v1/canned-responses/4242", headers=as_agent)
        assert missing.status == 404 and (await missing.json())["error"] == "réponse type n° 4242 introuvable"
        put_missing = await client.put("/api/v1/canned-responses/4242", headers=as_admin,
                                       json={"title": "a", "body": "b"})
        assert put_missing.status == 404


HELD_MAIL = (
    b"From: Sylvie <sylvie@mairie-murat.fr>\r\nTo: assistance@craig.fr\r\nSubject: Budget en CSV\r\n"
    b"Message-ID: <held-api@murat.fr>\r\n\r\nBonjour, comment publier notre budget ?\r\n"
)


async def test_menus_and_quarantine(services: Services) -> None:
    admin, agent = await add_staff(services)
    as_admin, as_agent = await _bearer(services, admin), await _bearer(services, agent)
    first = await services.quarantine.hold(channel="email", raw=HELD_MAIL, reason="parser bug (fixed since)",
                                           sender="sylvie@mairie-murat.fr")
    second = await services.quarantine.hold(channel="email", raw=b"junk", reason="illisible", sender="x@y.fr")
    async with web_client(services) as client:
        menus = await (await client.get("/api/v1/choices", headers=as_agent)).json()
        assert {p["id"] for p in menus["staff"]} == {admin, agent} and "open" in menus["statuses"]
        held = await (await client.get("/api/v1/quarantine", headers=as_agent)).json()
        assert {i["id"] for i in held["items"]} == {first, second}
        for path in (f"/api/v1/quarantine/{second}/raw",):
            assert (await client.get(path, headers=as_agent)).status == 403
        assert (await client.post(f"/api/v1/quarantine/{second}/discard", headers=as_agent)).status == 403
        raw = await client.get(f"/api/v1/quarantine/{first}/raw", headers=as_admin)
        assert raw.status == 200 and await raw.read() == HELD_MAIL
        done = await client.post(f"/api/v1/quarantine/{first}/reprocess", headers=as_agent)
        number = (await done.json())["ticket"]
        assert done.status == 200 and (await services.tickets.get_json(number))["subject"] == "Budget en CSV"
        gone = await client.post(f"/api/v1/quarantine/{second}/discard", headers=as_admin)
        assert gone.status == 200 and (await gone.json())["status"] == "discarded"
        twice = await client.post(f"/api/v1/quarantine/{second}/discard", headers=as_admin)
        assert twice.status == 400 and (await twice.json())["error"] == "cet élément a déjà été traité"
        for far in ("4242", str(2**40)):
            assert (await client.post(f"/api/v1/quarantine/{far}/reprocess", headers=as_agent)).status == 404
            assert (await client.get(f"/api/v1/quarantine/{far}/raw", headers=as_admin)).status == 404
            assert (await client.get(f"/api/v1/canned-responses/{far}", headers=as_agent)).status == 404
            assert (await client.post(f"/api/v1/tickets/1000/messages/{far}/resend", headers=as_agent)).status == 404
        assert (await (await client.get("/api/v1/quarantine", headers=as_agent)).json())["items"] == []


async def test_accounts_and_teams_for_admins_only(services: Services) -> None:
    admin, agent = await add_staff(services)
    as_admin, as_agent = await _bearer(services, admin), await _bearer(services, agent)
    async with web_client(services) as client:
        for method, path in (("GET", "/api/v1/staff"), ("POST", "/api/v1/staff"), ("PATCH", f"/api/v1/staff/{agent}"),
                             ("GET", "/api/v1/teams"), ("POST", "/api/v1/teams"), ("PATCH", "/api/v1/teams/1")):
            denied = await client.request(method, path, headers=as_agent, json={"name": "x", "email": "a@b.fr"})
            assert denied.status == 403, (method, path)
        made = await client.post("/api/v1/staff", headers=as_admin, json={"email": "Claire@craig.fr", "name": "Claire"})
        claire = await made.json()
        assert made.status == 201 and claire["email"] == "claire@craig.fr" and len(claire["password"]) >= 12
        assert await services.users.authenticate("claire@craig.fr", claire["password"])
        again = await client.post("/api/v1/staff", headers=as_admin, json={"email": "claire@craig.fr"})
        assert again.status == 409 and (await again.json())["error"] == "un compte existe déjà pour claire@craig.fr"
        weak = await client.post("/api/v1/staff", headers=as_admin, json={"email": "d@craig.fr", "password": "court"})
        assert weak.status == 400 and "mot de passe" in (await weak.json())["error"]
        changed = await client.patch(f"/api/v1/staff/{claire['id']}", headers=as_admin,
                                     json={"role": "admin", "available": False})
        assert changed.status == 200
        assert (await changed.json())["changes"] == {"role": ["agent", "admin"], "available": [True, False]}
        myself = await client.patch(f"/api/v1/staff/{admin}", headers=as_admin, json={"active": False})
        assert myself.status == 400
        assert (await myself.json())["error"] == "vous ne pouvez pas désactiver votre propre compte"
        team = await client.post("/api/v1/teams", headers=as_admin, json={"name": "Cantal"})
        team_id = (await team.json())["id"]
        dup = await client.post("/api/v1/teams", headers=as_admin, json={"name": "cantal"})
        assert dup.status == 409 and (await dup.json())["error"] == "une équipe « cantal » existe déjà"
        accented = [await client.post("/api/v1/teams", headers=as_admin, json={"name": "Pays d'Aurillac ÉÙ"})
                    for _ in range(2)]  # SQLite folds only ASCII case: the second is still a clear refusal
        assert [r.status for r in accented] == [201, 409]
        members = await client.patch(f"/api/v1/teams/{team_id}", headers=as_admin,
                                     json={"name": "Cantal nord", "members": [agent, claire["id"]]})
        assert await members.json() == {"id": team_id, "name": "Cantal nord",
                                        "members": sorted([agent, claire["id"]])}
        stranger = await client.patch(f"/api/v1/teams/{team_id}", headers=as_admin, json={"members": [4242]})
        assert stranger.status == 404 and (await stranger.json())["error"] == "membre de l'équipe 4242 introuvable"
        assert (await client.patch("/api/v1/teams/4242", headers=as_admin, json={})).status == 404
        listing = await (await client.get("/api/v1/staff", headers=as_admin)).json()
        assert {p["email"]: p["teams"] for p in listing["items"]}["agent@craig.fr"] == ["Cantal nord"]
