"""Who may read and write whose data."""
