"""The portal's pure rules: attachments within bounds, the reopen window, French error sentences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.app.portal.service import MAX_FILE_BYTES, MAX_FILES, REOPEN_WINDOW, UploadedFile, can_reopen, clean_files
from helpdesk.domain.errors import ValidationError

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_files_are_named_safely_and_bounded() -> None:
    [att] = clean_files([UploadedFile("C:\\Users\\x\\budget\r\n2026.csv", "text/csv\r\nX: y", b"a;b\n")])
    assert att.filename == "budget 2026.csv" and "\n" not in att.content_type and att.data == b"a;b\n"
    assert clean_files([UploadedFile("", "", b"x")])[0].filename == "piece-jointe"
    with pytest.raises(ValidationError, match="5 fichiers au plus"):
        clean_files([UploadedFile(f"{i}.csv", "text/csv", b"x") for i in range(MAX_FILES + 1)])
    with pytest.raises(ValidationError, match="dépasse 10 Mo"):
        clean_files([UploadedFile("gros.csv", "text/csv", b"x" * (MAX_FILE_BYTES + 1))])
    with pytest.raises(ValidationError, match="au total"):
        clean_files([UploadedFile(f"{i}.csv", "text/csv", b"x" * MAX_FILE_BYTES) for i in range(3)])


def test_only_a_recently_resolved_request_reopens() -> None:
    assert can_reopen("resolved", NOW - REOPEN_WINDOW, NOW)
    assert not can_reopen("resolved", NOW - REOPEN_WINDOW - timedelta(seconds=1), NOW)
    assert not can_reopen("closed", NOW, NOW) and not can_reopen("open", None, NOW)
    assert not can_reopen("resolved", None, NOW)
