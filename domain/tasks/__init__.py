"""Human tasks: their statuses and the one transition the API makes (completion)."""
