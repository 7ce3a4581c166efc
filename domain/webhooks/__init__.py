"""Provider webhooks, normalized: one event model for every provider's delivery, engagement and bounce reports."""
