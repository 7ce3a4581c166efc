"""The journeys context: drafts, publishing, references, and the operations on running journeys."""
