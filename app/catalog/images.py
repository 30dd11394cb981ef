"""Product photo processing: decode for real, re-encode, resize.

A file is accepted only if Pillow decodes it as JPEG, PNG or WebP — not by its extension or
Content-Type. It is then re-encoded from pixels (which drops EXIF/GPS, ICC tricks, comments
and anything appended after the image data) into a display image (at most 1200 px), a
thumbnail (at most 400 px), a card rendition (240 px wide: what a product card shows on a
360 px phone, at a lower quality) and a mini rendition (128 px wide: the 56-64 px
thumbnails of the cart, the order list, the gallery and the home page's stores, sharp on a
2x screen), all WebP. Pixel count is
checked from the header before any decoding, so a decompression bomb is refused without
being expanded.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

# MPO: a JPEG with extra pictures (phones' multi-picture / Ultra HDR photos); Pillow names
# it apart, but it is a .jpg to everybody else. Only its first picture is kept.
log = logging.getLogger(__name__)

ALLOWED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
DISPLAY_SIZE = 1200
THUMB_SIZE = 400
CARD_WIDTH = 240  # the card rendition (srcset "240w"; the thumbnail is "400w")
WEBP_QUALITY = 82
CARD_QUALITY = 70
MINI_WIDTH = 128  # the mini rendition (srcset "128w"): 2x the 56-64 px thumbnails
MINI_QUALITY = 60


# Markers of script or markup hidden in an image (polyglot files); a file carrying one is
# refused rather than silently cleaned. Only markers of five bytes or more, matched
# case-sensitively in their usual spellings: compressed pixels are close to random, and a
# short marker (`<?=`) would turn up by chance in about one multi-megabyte photo in five.
_PAYLOAD_MARKERS = (b"<?php", b"<?PHP", b"<script", b"<SCRIPT", b"<html", b"<HTML",
                    b"<!doctype", b"<!DOCTYPE")
_PNG_END = b"IEND\xaeB`\x82"


def _has_appended_payload(data: bytes, image_format: str) -> bool:
    """True when script/markup hides in the file, or (PNG, WebP) bytes follow the image's
    own end."""
    if any(marker in data for marker in _PAYLOAD_MARKERS):
        return True
    if image_format == "PNG":
        return not data.endswith(_PNG_END)
    if image_format == "WEBP":
        return int.from_bytes(data[4:8], "little") + 8 != len(data)
    # JPEG: phones append data after the picture as a matter of course (Samsung's trailer,
    # Google's Motion Photo video); re-encoding drops it, so only the markers refuse one.
    return False


class PhotoRejected(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ProcessedPhoto:
    display: bytes
    thumb: bytes
    card: bytes
    mini: bytes
    width: int
    height: int


# EXIF orientation -> the transposition that makes the picture upright.
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation without rewriting the EXIF (it is dropped anyway).
    ImageOps.exif_transpose rewrites it, and raises on tags of the wrong type, which odd
    cameras and editors do write; reading the one tag we need is enough."""
    try:
        orientation = image.getexif().get(0x0112)
    except Exception:
        log.info("photo with unreadable EXIF kept as stored")
        orientation = None
    method = _ORIENTATION.get(orientation) if isinstance(orientation, int) else None
    upright = image.transpose(method) if method is not None else image
    upright.info.pop("exif", None)
    return upright


def _encode(image: Image.Image, size: int) -> tuple[bytes, int, int]:
    copy = image.copy()
    copy.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)  # no exif= : none written
    return buffer.getvalue(), copy.width, copy.height


def _encode_width(image: Image.Image, width: int, quality: int) -> bytes:
    """`width` wide (never enlarged), WebP at `quality`."""
    copy = image.copy()
    if copy.width > width:
        height = max(1, round(copy.height * width / copy.width))
        copy = copy.resize((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.save(buffer, "WEBP", quality=quality, method=4)
    return buffer.getvalue()


def _encode_card(image: Image.Image) -> bytes:
    """The card rendition: CARD_WIDTH wide (never enlarged), WebP at CARD_QUALITY."""
    return _encode_width(image, CARD_WIDTH, CARD_QUALITY)


def _encode_mini(image: Image.Image) -> bytes:
    """The mini rendition: MINI_WIDTH wide (never enlarged), WebP at MINI_QUALITY."""
    return _encode_width(image, MINI_WIDTH, MINI_QUALITY)


def _stored_image(stored: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(stored)) as image:
            image.load()
            return image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise PhotoRejected(str(_l("Foto rusak atau tidak dapat dibaca."))) from None


def card_rendition(stored: bytes) -> bytes:
    """The card rendition of an already stored (re-encoded) display image, for the backfill
    of photos stored before renditions existed. Raises PhotoRejected when the stored file
    cannot be decoded (a damaged file in storage)."""
    return _encode_card(_stored_image(stored))


def mini_rendition(stored: bytes) -> bytes:
    """The mini rendition of an already stored display image (the backfill's, as
    card_rendition). Raises PhotoRejected when the stored file cannot be decoded."""
    return _encode_mini(_stored_image(stored))


def photo_process(data: bytes, *, max_bytes: int, max_pixels: int) -> ProcessedPhoto:
    """Validate and re-encode one uploaded photo; raises PhotoRejected with a user message."""
    if len(data) > max_bytes:
        raise PhotoRejected(str(_l("Ukuran foto maksimal %(mb)s MB.",
                                   mb=max_bytes // (1024 * 1024))))
    if not data:
        raise PhotoRejected(str(_l("Berkas foto kosong.")))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ALLOWED_FORMATS:
                    raise PhotoRejected(str(_l("Foto harus berformat JPG, PNG, atau WebP.")))
                if _has_appended_payload(data, probe.format):
                    raise PhotoRejected(str(_l(
                        "Foto berisi data tambahan yang tidak dikenal. Simpan ulang fotonya "
                        "dari aplikasi kamera atau editor gambar, lalu unggah lagi.")))
                width, height = probe.size
                if width * height > max_pixels or width < 1 or height < 1:
                    raise PhotoRejected(str(_l("Resolusi foto terlalu besar.")))
                probe.verify()  # structure and checksums, without decoding pixels
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                image = _upright(image)
                image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
    except PhotoRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRejected(str(_l("Resolusi foto terlalu besar."))) from None
    except UnidentifiedImageError:
        raise PhotoRejected(str(_l("Berkas ini bukan foto JPG, PNG, atau WebP yang valid."))) \
            from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise PhotoRejected(str(_l("Foto rusak atau tidak dapat dibaca."))) from None
    display, display_width, display_height = _encode(image, DISPLAY_SIZE)
    thumb, _, _ = _encode(image, THUMB_SIZE)
    return ProcessedPhoto(display=display, thumb=thumb, card=_encode_card(image),
                          mini=_encode_mini(image),
                          width=display_width, height=display_height)
