"""Ingested events: Segment Tracking API messages, their timestamps, and which contact each one is about."""
