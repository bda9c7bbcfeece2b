"""The Redis keys the worker writes and the dashboard reads: one definition for both."""

import hashlib
from datetime import datetime

LIVE_KEY = "moodwatch:live:{minute}"  # a hash label -> posts stored in that minute
PREDICTION_KEY = "moodwatch:pred:{version}:{digest}"  # a cached Prediction as JSON


def live_key(minute: datetime) -> str:
    return LIVE_KEY.format(minute=minute.strftime("%Y-%m-%dT%H:%M"))


def prediction_key(model_version: str, normalised_text: str) -> str:
    """Per bundle version: a new model never serves an old model's cached labels."""
    digest = hashlib.sha256(normalised_text.encode("utf-8")).hexdigest()
    return PREDICTION_KEY.format(version=model_version, digest=digest)
