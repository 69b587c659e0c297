"""Storage adapter: SQLModel tables, the async engine, migrations."""
