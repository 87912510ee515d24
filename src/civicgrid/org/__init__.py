"""Places: the unit tree (district → street → community → grid, departments), buildings, households."""
