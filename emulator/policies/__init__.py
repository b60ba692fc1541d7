"""Scheduling policies: queue policies decide, the engine applies (see base)."""
