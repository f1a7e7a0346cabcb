"""The stack program's wiring: the stack's settings into the package's components, one module per orchestrator,
with what both share. Each returns the stack's exports, in one table."""
