"""The base of every table class."""

from __future__ import annotations

from pydantic import ConfigDict
from sqlmodel import SQLModel


class Table(SQLModel):
    """A table's pydantic validator and serializer are built on first use, not when the module is imported:
    rows are made and read through SQLAlchemy, and short commands (``helpdesk user add``) start faster."""

    model_config = ConfigDict(defer_build=True)  # type: ignore[assignment]
