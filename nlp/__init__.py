"""Vietnamese text → annotations. Plain data in, plain data out; no store, no network."""
