"""A small, realistic helpdesk for the browser tests and the screenshots in docs/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from helpdesk.app.faq.sync import bundled_kb_dir
from helpdesk.app.intake.messages import InboundAttachment, InboundMessage, OrganizationHint
from helpdesk.db.tables import Team, Ticket
from helpdesk.domain.values import Channel, OrgKind, Priority, StaffRole, TicketStatus
from tests.support.checks_samples import sample

PASSWORD = "motdepasse-solide"

REQUESTS = [
    ("sylvie.roux@mairie-riom.fr", "Sylvie Roux", "Commune de Riom", OrgKind.COMMUNE, "Pays de Riom",
     "Publier le budget primitif 2026", "Bonjour, nous devons publier notre budget primitif en open data. "
     "Quel format utiliser et où le déposer ?", 50),
    ("dgs@cc-thiers.fr", "Marc Lefèvre", "Thiers Dore et Montagne", OrgKind.EPCI, "Pays de Thiers",
     "Adresses : mise à jour de la BAL", "Nous avons de nouvelles voies, comment mettre à jour la Base "
     "Adresse Locale ?", 210),
    ("secretariat@mairie-murat.fr", "Anne Vidal", "Commune de Murat", OrgKind.COMMUNE, "Pays de Saint-Flour",
     "Erreur Validata sur le fichier des subventions", "Validata refuse notre fichier : « format de date "
     "invalide ». Que faut-il corriger ?", -35),
    ("sig@pnr-volcans.fr", "Hugo Brun", "PNR des Volcans d'Auvergne", OrgKind.PNR, None,
     "Métadonnées des couches du parc", "Quelles métadonnées remplir pour publier nos couches sur le "
     "catalogue régional ?", 1500),
    ("compta@mairie-aurillac.fr", "Julie Garcia", "Commune d'Aurillac", OrgKind.COMMUNE, "Pays d'Aurillac",
     "Codes INSEE perdus dans Excel", "Les zéros au début des codes INSEE disparaissent quand j'ouvre le "
     "CSV dans Excel.", 400),
]


async def seed_demo(services: Any) -> int:
    """Staff, the bundled FAQ and a few tickets with SLA deadlines; returns the budget ticket's number.

    The budget request carries a faulty CSV: its file-check note is on the ticket (the check job is run
    here, as the outbox worker would). One ticket is answered and resolved, so the reports have figures."""
    admin = await services.users.add("claire.martin@craig.fr", StaffRole.ADMIN, PASSWORD, name="Claire Martin")
    agent = await services.users.add("thomas.bernard@craig.fr", StaffRole.AGENT, PASSWORD, name="Thomas Bernard")
    await services.kb_store.import_dir(bundled_kb_dir())
    now = services.clock.now()
    async with services.db.transaction() as s:
        s.add(Team(name="Données budgétaires"))
    numbers = []
    for i, (email, name, org, kind, pays, subject, text, due_minutes) in enumerate(REQUESTS):
        res = await services.intake.receive(InboundMessage(
            channel=Channel.TELEGRAM if i == 3 else Channel.EMAIL, external_id=f"<demo{i}@example.fr>",
            sender_email=email, sender_name=name, subject=subject, visible_text=text,
            telegram_chat_id=4242 if i == 3 else None,
            attachments=(InboundAttachment("budget-primitif-2026.csv", "text/csv", sample("budget-faulty.csv")),)
            if i == 0 else (),
            organization=OrganizationHint(org, kind, pays=pays)))
        if i == 0:
            assert await services.outbox.run_once(limit=1) == 1  # the file check: its note on the ticket
        numbers.append(res.ticket_number)
        async with services.db.transaction() as s:
            t = (await s.scalars(select(Ticket).where(Ticket.number == res.ticket_number))).one()
            t.first_response_due = now + timedelta(minutes=due_minutes)
            t.resolution_due = now + timedelta(days=5)
    await services.tickets.assign(numbers[1], agent, admin)
    await services.tickets.assign(numbers[2], admin, admin)
    await services.tickets.set_priority(numbers[2], Priority.HIGH, admin)
    await services.tickets.set_tags(numbers[0], ["budget", "scdl"], admin)
    await services.tickets.set_tags(numbers[2], ["validata"], admin)
    await services.tickets.set_tags(numbers[1], ["adresses"], agent)
    await services.tickets.reply(numbers[1], agent, "Bonjour, la mise à jour se fait sur mes-adresses.data.gouv.fr.")
    await services.tickets.set_status(numbers[1], TicketStatus.RESOLVED, agent)
    return int(numbers[0])
