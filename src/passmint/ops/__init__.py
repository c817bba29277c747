"""Operating passmint: backup and restore of a whole installation."""
