"""Sending domains: the DNS records a domain must publish, and the pure evaluation of what DNS answered."""
