"""The on-disk index: atomic versioned builds and the light query-time readers."""
