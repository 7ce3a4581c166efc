"""Delivery providers, one adapter per provider."""
