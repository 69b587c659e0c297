"""Join the branches the channels, the web UI and the SLA module grew in parallel from 0001_core.

Revision ID: 0005_merge
Revises: 0002_telegram, 0003_sla, 0004_web
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0005_merge"
down_revision: str | Sequence[str] | None = ("0002_telegram", "0003_sla", "0004_web")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
