"""Per-verification state kept outside the database: usage counts, caches, limits."""
