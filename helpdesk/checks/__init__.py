"""Checks of the datasets and metadata records agents send: pure functions from bytes to a Report.

No database, no network: ``check_file(filename, data)`` is all the app and the CLI call.
"""

from helpdesk.checks.limits import Limits
from helpdesk.checks.report import Finding, Report, Severity
from helpdesk.checks.run import check_file, is_checkable, kind_of

__all__ = ["Finding", "Limits", "Report", "Severity", "check_file", "is_checkable", "kind_of"]
