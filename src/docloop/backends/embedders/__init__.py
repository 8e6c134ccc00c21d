"""Embedders: text -> unit vectors, built from settings by `docloop.registry.build_embedder`
(behind the persistent vector cache)."""
