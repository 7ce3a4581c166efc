"""Consent: what a contact agreed to receive, per channel and per topic, with its source, legal basis and history."""
