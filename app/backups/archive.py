"""The encrypted archive format (.rbk): a tar stream sealed with AES-256-GCM in frames.

Layout: a 16-byte header `RACIKBK1` + 8 random bytes (the nonce prefix), then frames, each
`length (4 bytes, big-endian)` + ciphertext-with-tag. A frame holds at most FRAME_SIZE
plaintext bytes; its nonce is the prefix + the frame index (4 bytes); its associated data
is the header + the frame index + a final-frame flag. So a flipped byte fails the frame's
tag ("arsip rusak"), a missing tail lacks the final frame ("arsip terpotong"), and frames
swapped, dropped or moved from another archive fail their tag. Memory stays at one frame.

The key: config BACKUP_KEY (base64 of 32 bytes, `flask backup new-key` prints one), else
(development) derived from SECRET_KEY with HKDF, info `racik-backup-v1`, separate from the
app's other keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

MAGIC = b"RACIKBK1"
HEADER_SIZE = len(MAGIC) + 8
FRAME_SIZE = 1024 * 1024
TAG_SIZE = 16
MAX_FRAMES = 2**32 - 1


class ArchiveError(Exception):
    """The archive cannot be read: `message` says why (Indonesian, for people)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def backup_key() -> bytes:
    configured = (current_app.config.get("BACKUP_KEY") or "").strip()
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except (binascii.Error, ValueError):
            raise RuntimeError("BACKUP_KEY is not base64") from None
        if len(key) != 32:
            raise RuntimeError("BACKUP_KEY must be 32 bytes (base64)")
        return key
    secret = current_app.config["SECRET_KEY"].encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"racik-backup-v1").derive(secret)


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _associated(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">IB", index, 1 if final else 0)


class EncryptingWriter:
    """A write-only file object: what is written goes out encrypted to `target`."""

    def __init__(self, target: BinaryIO, key: bytes) -> None:
        self._target = target
        self._aead = AESGCM(key)
        self._prefix = os.urandom(8)
        self._header = MAGIC + self._prefix
        self._buffer = bytearray()
        self._index = 0
        self._closed = False
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._emit(self._header)

    def _emit(self, data: bytes) -> None:
        self._target.write(data)
        self.sha256.update(data)
        self.size += len(data)

    def _frame(self, plain: bytes, final: bool) -> None:
        if self._index >= MAX_FRAMES:
            raise ArchiveError("arsip terlalu besar")
        nonce = self._prefix + struct.pack(">I", self._index)
        sealed = self._aead.encrypt(nonce, plain, _associated(self._header, self._index, final))
        self._emit(struct.pack(">I", len(sealed)) + sealed)
        self._index += 1

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > FRAME_SIZE:
            self._frame(bytes(self._buffer[:FRAME_SIZE]), final=False)
            del self._buffer[:FRAME_SIZE]
        return len(data)

    def close(self) -> None:
        """Write the final frame (possibly empty). The target stays open."""
        if not self._closed:
            self._frame(bytes(self._buffer), final=True)
            self._buffer.clear()
            self._closed = True

    def flush(self) -> None:  # tarfile may call it
        pass


class DecryptingReader:
    """A read-only file object over an encrypted archive; raises ArchiveError when the
    archive is corrupt ("arsip rusak") or truncated ("arsip terpotong")."""

    def __init__(self, source: BinaryIO, key: bytes) -> None:
        self._source = source
        self._aead = AESGCM(key)
        self.sha256 = hashlib.sha256()
        header = self._read_exact(HEADER_SIZE)
        if header[:len(MAGIC)] != MAGIC:
            raise ArchiveError("arsip rusak: bukan arsip cadangan Racik")
        self._header = header
        self._prefix = header[len(MAGIC):]
        self._index = 0
        self._buffer = b""
        self._offset = 0
        self._done = False

    def _read_exact(self, count: int) -> bytes:
        data = self._source.read(count)
        self.sha256.update(data)
        if len(data) < count:
            raise ArchiveError("arsip terpotong")
        return data

    def _next_frame(self) -> None:
        (length,) = struct.unpack(">I", self._read_exact(4))
        if length < TAG_SIZE or length > FRAME_SIZE + TAG_SIZE:
            raise ArchiveError("arsip rusak")
        sealed = self._read_exact(length)
        nonce = self._prefix + struct.pack(">I", self._index)
        for final in (False, True):
            try:
                plain = self._aead.decrypt(nonce, sealed,
                                           _associated(self._header, self._index, final))
            except InvalidTag:
                continue
            break
        else:
            raise ArchiveError("arsip rusak")
        self._index += 1
        if final:
            tail = self._source.read(1)
            if tail:
                raise ArchiveError("arsip rusak: data setelah bingkai terakhir")
            self._done = True
        self._buffer, self._offset = plain, 0

    def read(self, size: int = -1) -> bytes:
        chunks: list[bytes] = []
        wanted = size if size is not None and size >= 0 else None
        while wanted is None or wanted > 0:
            if self._offset >= len(self._buffer):
                if self._done:
                    break
                self._next_frame()
                continue
            end = len(self._buffer) if wanted is None else self._offset + wanted
            piece = self._buffer[self._offset:end]
            self._offset += len(piece)
            chunks.append(piece)
            if wanted is not None:
                wanted -= len(piece)
        return b"".join(chunks)

    def drain(self) -> None:
        """Read to the end, so a truncated or tampered tail is found."""
        while not self._done:
            self._next_frame()
