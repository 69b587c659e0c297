"""What a look-up of published data produces: plain, typed values the note, the sidebar and the tests read.

A finding here is the published-data view of a problem (a resource that does not download, a declared
schema the file does not follow, an INSPIRE element missing from a record); the file checks' own findings
are converted into it so that nothing downstream depends on the checks package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    CHECKED = "checked"  # fetched and looked at
    NOT_FOUND = "not-found"  # the portal or the catalogue answered that it does not exist
    NOT_VERIFIED = "not-verified"  # « non vérifié »: network off, host not allowed, timeout, rate limit…


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # stable, for tools and tests
    severity: str  # "error", "warning" or "info" (the file checks' severities)
    message: str  # French, for people
    where: str = ""  # row, column, element, as the file checks say it

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message, "where": self.where}


@dataclass(frozen=True, slots=True)
class HarvestInfo:
    backend: str | None
    domain: str | None
    remote_id: str | None
    remote_url: str | None
    source_id: str | None
    last_update: datetime | None
    archived: str | None  # udata's reason, e.g. "not-on-remote"
    source_name: str | None = None
    last_job_status: str | None = None  # udata's: done, done-errors, failed…
    last_job_ended: datetime | None = None
    last_job_errors: int = 0
    source_active: bool | None = None


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    id: str
    title: str
    url: str
    format: str | None
    filetype: str | None  # file (uploaded), remote, api…
    type: str | None  # main, documentation, api…
    filesize: int | None
    last_modified: datetime | None
    schema: str | None  # declared schema name, e.g. "scdl/subventions"
    schema_version: str | None
    available: bool | None  # data.gouv.fr's own availability check (extras check:available)
    http_status: int | None  # data.gouv.fr's last check status (extras check:status)
    validation_valid: bool | None  # data.gouv.fr's schema validation (extras validation-report:*)
    validation_errors: int | None


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    id: str
    slug: str
    title: str
    page: str | None
    organization: str | None
    owner: str | None
    license_id: str | None
    license: str | None  # French title of the licence
    last_update: datetime | None
    frequency: str | None
    schema: str | None
    archived: bool
    deleted: bool
    private: bool
    quality: dict[str, bool]
    quality_score: float | None
    harvest: HarvestInfo | None
    resources: tuple[ResourceInfo, ...]


@dataclass(frozen=True, slots=True)
class RecordInfo:
    identifier: str
    title: str | None
    organisation: str | None
    date: str | None  # metadata date stamp as written
    hierarchy: str | None
    missing: tuple[Finding, ...]  # INSPIRE elements missing from the record


@dataclass(slots=True)
class ResourceCheck:
    resource: ResourceInfo
    status: Status
    reason: str = ""  # why « non vérifié », in French
    findings: list[Finding] = field(default_factory=list)


@dataclass(slots=True)
class RecordCheck:
    identifier: str
    status: Status
    reason: str = ""
    url: str | None = None
    record: RecordInfo | None = None


@dataclass(slots=True)
class DatasetCheck:
    reference: str  # slug, id or URL as the message named it
    status: Status
    reason: str = ""
    dataset: DatasetInfo | None = None
    resources: list[ResourceCheck] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # dataset-level problems
    source_record: RecordCheck | None = None  # the catalogue record a harvested dataset comes from


@dataclass(slots=True)
class FileCheck:
    url: str
    status: Status
    reason: str = ""
    http_status: int | None = None
    findings: list[Finding] = field(default_factory=list)


Item = DatasetCheck | RecordCheck | FileCheck


@dataclass(slots=True)
class PublishedReport:
    checked_at: datetime
    items: list[Item] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        """True when at least one item could be looked at."""
        return any(i.status is not Status.NOT_VERIFIED for i in self.items)

    def as_json(self) -> dict[str, Any]:
        from helpdesk.published.serialise import report_json

        return report_json(self)
