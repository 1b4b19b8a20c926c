"""Layer 1, the core: token format, keys, hashers, scopes, errors and value types. No I/O."""
