"""Fine-tuning the ensemble members, evaluation, and writing model bundles."""
