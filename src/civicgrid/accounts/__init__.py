"""People: the custom user, their posts in units, and API tokens."""
