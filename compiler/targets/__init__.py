"""Targets stage: pure functions from the linked Catalog to artifacts; no file or network I/O."""
