"""Content: message templates (Liquid) and their rendering."""
