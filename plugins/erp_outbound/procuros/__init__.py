"""Procuros: outgoing transactions, error reports and tasks (API v2)."""
