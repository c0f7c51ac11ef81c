"""The seven FER2013 emotion classes, in the dataset's label order, and what belongs to them."""

from __future__ import annotations

# Index i is FER2013's label i. Never reorder: models and datasets depend on it.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# RGB colours used when drawing a face of that emotion.
COLORS: dict[str, tuple[int, int, int]] = {
    "angry": (230, 57, 70),
    "disgust": (106, 153, 78),
    "fear": (155, 93, 229),
    "happy": (255, 190, 11),
    "sad": (58, 134, 255),
    "surprise": (251, 86, 7),
    "neutral": (160, 160, 160),
}

VALENCE: dict[str, str] = {
    "angry": "negative",
    "disgust": "negative",
    "fear": "negative",
    "sad": "negative",
    "happy": "positive",
    "surprise": "neutral",
    "neutral": "neutral",
}

# Names other datasets and tools use for the same classes (folder names of image datasets).
_ALIASES: dict[str, str] = {
    "anger": "angry",
    "angry": "angry",
    "mad": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "neutral": "neutral",
    "calm": "neutral",
}


def canonical(name: str) -> str | None:
    """Map an emotion name or one of its common variants to our label; None if unknown.

    Accepts FER2013 numeric labels too ("0".."6"), as some folder datasets use them.
    """
    key = name.strip().lower()
    if key.isdigit() and int(key) < len(EMOTIONS):
        return EMOTIONS[int(key)]
    return _ALIASES.get(key)
