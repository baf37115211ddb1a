"""How long an audio or video file plays (read from its container with mutagen; None if unknown)."""
from __future__ import annotations

import io

import mutagen


def duration(data: bytes) -> float | None:
    try:
        found = mutagen.File(io.BytesIO(data))
    except (mutagen.MutagenError, ValueError, EOFError, OSError):
        return None
    length = getattr(getattr(found, "info", None), "length", None)
    return float(length) if isinstance(length, (int, float)) and length > 0 else None
