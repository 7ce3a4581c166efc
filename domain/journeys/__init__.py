"""Journeys: the definition DSL, its validation, trigger matching, and the runtime models workflows exchange."""
