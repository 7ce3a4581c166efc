"""Sending-domain verification: DNS lookups, checks and the re-check Schedule."""
