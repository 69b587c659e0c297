"""Loop rules: which mail is written by a machine and must never be answered."""

from __future__ import annotations

import pytest

from channels.email.loops import MailKind, classify, is_permanent_failure


def verdict(headers: dict[str, str] | None = None, *, sender: str = "sylvie@mairie.fr", subject: str = "Budget",
            content_type: str = "text/plain", report_type: str | None = None, envelope: str | None = "s@m.fr"):
    h = {k.lower(): [v] for k, v in (headers or {}).items()}
    return classify(h, sender=sender, subject=subject, content_type=content_type, report_type=report_type,
                    envelope_sender=envelope)


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [
        ({}, MailKind.HUMAN),
        ({"headers": {"Auto-Submitted": "no"}}, MailKind.HUMAN),
        ({"headers": {"Auto-Submitted": "auto-replied"}}, MailKind.AUTO_REPLY),
        ({"headers": {"Auto-Submitted": "auto-generated; owner-email=x@y"}}, MailKind.AUTO_REPLY),
        ({"headers": {"X-Autoreply": "yes"}}, MailKind.AUTO_REPLY),
        ({"headers": {"X-Autorespond": "1"}}, MailKind.AUTO_REPLY),
        ({"headers": {"X-Auto-Response-Suppress": "All"}}, MailKind.AUTO_REPLY),
        ({"headers": {"Precedence": "bulk"}}, MailKind.BULK),
        ({"headers": {"Precedence": "junk"}}, MailKind.BULK),
        ({"headers": {"Precedence": "list"}}, MailKind.BULK),
        ({"headers": {"Precedence": "auto_reply"}}, MailKind.BULK),
        ({"subject": "Réponse automatique : Budget"}, MailKind.AUTO_REPLY),
        ({"subject": "Absence du bureau"}, MailKind.AUTO_REPLY),
        ({"subject": "Out of Office: Budget"}, MailKind.AUTO_REPLY),
        ({"subject": "Message d'absence"}, MailKind.AUTO_REPLY),
        ({"sender": "MAILER-DAEMON@mx.example", "subject": "Undelivered Mail Returned to Sender"}, MailKind.BOUNCE),
        ({"sender": "postmaster@mx.example", "subject": "Non remis : Budget"}, MailKind.BOUNCE),
        ({"sender": "mailer-daemon@mx.example", "subject": "Réponse"}, MailKind.AUTO_REPLY),
        ({"content_type": "multipart/report", "report_type": "delivery-status"}, MailKind.BOUNCE),
        ({"headers": {"X-Failed-Recipients": "a@b.fr"}}, MailKind.BOUNCE),
        ({"envelope": "", "subject": "Delivery Status Notification (Failure)"}, MailKind.BOUNCE),
        ({"envelope": ""}, MailKind.AUTO_REPLY),
    ],
)
def test_classification(kwargs: dict[str, object], kind: MailKind) -> None:
    v = verdict(**kwargs)  # type: ignore[arg-type]
    assert v.kind is kind
    assert v.automatic == (kind is not MailKind.HUMAN)
    assert (v.reason is None) == (kind is MailKind.HUMAN)


def test_a_subject_about_absence_of_data_is_not_an_out_of_office() -> None:
    assert verdict(subject="Absence de données dans le fichier").kind is MailKind.HUMAN


def test_permanent_failure_reads_status_before_action() -> None:
    assert is_permanent_failure("failed", "5.1.1")
    assert not is_permanent_failure("failed", "4.2.2")
    assert not is_permanent_failure("delayed", None)
    assert is_permanent_failure("failed", None)
