"""Persisted queries: automatic persisted queries (APQ) and persisted-query manifests."""
