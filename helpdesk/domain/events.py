"""Kinds of audit events. Every change to a ticket writes one, in the same transaction; so do changes to
contacts, the quarantine and personal data (with no ticket)."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    TICKET_CREATED = "ticket.created"
    MESSAGE_RECEIVED = "message.received"
    MESSAGE_DUPLICATE = "message.duplicate"
    REPLY_QUEUED = "reply.queued"
    REPLY_SENT = "reply.sent"
    REPLY_FAILED = "reply.failed"
    REPLY_RESENT = "reply.resent"  # a staff member pressed « Renvoyer » on a failed delivery
    NOTE_ADDED = "note.added"
    STATUS_CHANGED = "status.changed"
    ASSIGNED = "ticket.assigned"
    TEAM_CHANGED = "ticket.team_changed"
    PRIORITY_CHANGED = "ticket.priority_changed"
    TAGS_CHANGED = "ticket.tags_changed"
    FOLLOW_UP_OPENED = "ticket.follow_up_opened"
    LINKED = "ticket.linked"
    MERGED = "ticket.merged"
    SPLIT = "ticket.split"
    VIEWED = "ticket.viewed"
    SLA_WARNING = "sla.warning"
    SLA_BREACH = "sla.breach"
    QUARANTINED = "message.quarantined"
    QUARANTINE_RESOLVED = "message.quarantine_resolved"
    QUARANTINE_DISCARDED = "quarantine.discarded"
    AUTOMATIC_IGNORED = "message.automatic_ignored"
    AUTOMATIC_TICKETED = "message.automatic_ticketed"
    CONTACT_BOUNCING = "contact.bouncing"
    BOUNCING_CLEARED = "contact.bouncing_cleared"
    TELEGRAM_LINKED = "contact.telegram_linked"
    ACK_QUEUED = "ack.queued"
    ACK_SUPPRESSED = "ack.suppressed"
    FILE_CHECK_QUEUED = "filecheck.queued"
    FILE_CHECKED = "filecheck.done"
    PUBLISHED_QUEUED = "published.queued"  # a published-data look-up queued for the ticket
    PUBLISHED_CHECKED = "published.done"
    MAIL_SUPPRESSED = "mail.automatic_suppressed"  # the automatic-mail guard held a mail back
    FAQ_INSERTED = "faq.inserted"  # a reply went out with these FAQ entries inserted
    FAQ_NOT_INSERTED = "faq.not_inserted"  # a reply went out without any FAQ entry
    FAQ_PROPOSAL_ACCEPTED = "faq.proposal_accepted"
    FAQ_PROPOSAL_REJECTED = "faq.proposal_rejected"
    STAFF_CHANGED = "staff.changed"
    TEAM_CREATED = "team.created"
    TEAM_RENAMED = "team.renamed"
    TEAM_MEMBERS_CHANGED = "team.members_changed"
    RATED = "ticket.rated"
    PORTAL_SHARING = "organization.portal_sharing"  # staff let an organisation's agents see its tickets
    GDPR_ERASED = "gdpr.erased"
    GDPR_RETENTION = "gdpr.retention"
