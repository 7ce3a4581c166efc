"""The outbound webhooks context of the API: endpoints, their secrets, deliveries and redelivery."""
