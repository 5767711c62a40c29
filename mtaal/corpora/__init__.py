"""Corpus layer: registry, download, readers and the tidy parquet representation."""
