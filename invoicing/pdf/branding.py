"""Realm branding for the renderer: the logo and the colours.

`load_logo` raises `LogoError` for a missing, unreadable or non-PNG/JPEG file; the
renderer then prints the seller's name in its place (or re-raises when asked to be
strict). `check_branding` is for config checks: it raises on the first problem.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image as PILImage
from PIL import UnidentifiedImageError
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.utils import ImageReader

from invoicing.errors import LogoError
from invoicing.model import Branding

_FORMATS = {"PNG", "JPEG"}


@dataclass(frozen=True)
class Logo:
    image: ImageReader
    width: int  # pixels
    height: int
    digest: str  # names the image inside a PDF
    rgb_deflated: bytes  # the pixels as PDF wants them, compressed once, not per invoice
    alpha_deflated: bytes | None  # soft mask, for a PNG with transparency


def load_logo(path: str) -> Logo:
    """The decoded logo, cached per (path, size, mtime) so a billing run decodes it once."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise LogoError(path, exc.strerror or "cannot be read") from exc
    return _load_logo(path, st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _load_logo(path: str, _size: int, _mtime_ns: int) -> Logo:
    try:
        with PILImage.open(path) as img:
            if img.format not in _FORMATS:
                raise LogoError(path, f"is {img.format or 'an unknown format'}, expected PNG or JPEG")
            img.load()  # decodes fully: a truncated file fails here, not mid-render
            width, height = img.size
            has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
            rgba = img.convert("RGBA") if has_alpha else img.convert("RGB")
            rgb = rgba.convert("RGB").tobytes()
            alpha = rgba.getchannel("A").tobytes() if has_alpha else None
            reader = ImageReader(rgba)
    except LogoError:
        raise
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise LogoError(path, f"not a readable image ({exc})") from exc
    if width < 1 or height < 1:
        raise LogoError(path, "has no pixels")
    digest = hashlib.sha1(rgb + (alpha or b""), usedforsecurity=False).hexdigest()
    return Logo(reader, width, height, digest, zlib.compress(rgb), zlib.compress(alpha) if alpha else None)


def check_branding(branding: Branding) -> None:
    """Raise `BrandingError`/`LogoError` if the branding cannot be rendered as configured."""
    if branding.logo_path:
        load_logo(branding.logo_path)


def colour(hex_text: str) -> Color:
    if len(hex_text) == 4:  # "#abc" -> "#aabbcc"
        hex_text = "#" + "".join(c * 2 for c in hex_text[1:])
    return HexColor(hex_text)


def tint(c: Color, amount: float) -> Color:
    """Mix `c` with white; amount 0 = c, 1 = white."""
    return Color(*(v + (1 - v) * amount for v in (c.red, c.green, c.blue)))
