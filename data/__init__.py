"""Persistence: SQLModel entities, the engine and migrations. Knows nothing above it."""
