"""The worker: consume posts, micro-batch them through the ensemble, store, commit."""
