"""Generated profile photos: a person's initials on a colour derived from their id."""

from __future__ import annotations

import colorsys
import hashlib
import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

PHOTO_SIZE = 240


def initials(display_name: str) -> str:
    """Return up to two initials from a display name (``Megan Reyes`` -> ``MR``)."""
    words = [word for word in display_name.replace("-", " ").split() if word[:1].isalnum()]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[-1][0]).upper()


@lru_cache(maxsize=4096)
def photo_png(user_id: str, display_name: str) -> bytes:
    """Return a square PNG with the person's initials; the same person always gets the same one."""
    digest = hashlib.sha256(user_id.encode()).digest()
    hue = digest[0] / 255
    red, green, blue = colorsys.hls_to_rgb(hue, 0.38, 0.55)
    background = (int(red * 255), int(green * 255), int(blue * 255))
    image = Image.new("RGB", (PHOTO_SIZE, PHOTO_SIZE), background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=PHOTO_SIZE // 2.6)
    draw.text(
        (PHOTO_SIZE / 2, PHOTO_SIZE / 2),
        initials(display_name),
        fill=(255, 255, 255),
        font=font,
        anchor="mm",
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
