"""Checks of the datasets and metadata records agents send: pure functions from bytes to a Report.

No database, no network: ``check_file(filename, data)`` is all the app and the CLI call. A report has
findings with stable codes (the table is in ``helpdesk.checks.codes``) and a verdict (``VERDICTS``).
"""

from helpdesk.checks.codes import CODES
from helpdesk.checks.limits import Limits
from helpdesk.checks.report import VERDICTS, Finding, Report, Severity
from helpdesk.checks.run import check_file, is_checkable, kind_of

__all__ = ["CODES", "VERDICTS", "Finding", "Limits", "Report", "Severity", "check_file", "is_checkable", "kind_of"]
