"""vidgate."""
