"""Helpers shared by test modules (imported, never a conftest)."""
