"""Reusable widgets; each takes entities or plain view-models."""
