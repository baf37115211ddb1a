"""A small generated PNG, the picture a sandbox customer sends (no files, no Pillow)."""
from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def sample_png(seed: int = 0, size: int = 48) -> bytes:
    """A `size`x`size` RGB gradient; `seed` shifts its colours so pictures differ."""
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter type: none
        for x in range(size):
            row += bytes(((x * 5 + seed * 40) % 256, (y * 5 + seed * 90) % 256, (x + y + seed * 20) % 256))
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"".join(rows))) + _chunk(b"IEND", b""))
