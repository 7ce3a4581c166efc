"""Outbound webhook delivery: the activities of the delivery workflow."""
