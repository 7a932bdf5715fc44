"""The load generator: many simulated Client PRONOTE users across the fleet (`pronote-dc load`)."""
