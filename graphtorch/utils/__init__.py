"""Utilities (data loading)."""
