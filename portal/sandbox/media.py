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


# --- a voice note: Ogg Opus of silence (WhatsApp's voice notes are Ogg Opus) ----------------

_SILENT_OPUS_FRAME = b"\xf8\xff\xfe"  # one 20 ms frame of silence (TOC: CELT fullband 20 ms, mono)
_OPUS_PRE_SKIP = 312


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(packets: list[bytes], granule: int, serial: int, sequence: int, flags: int) -> bytes:
    segments = bytearray()
    for packet in packets:
        segments += bytes([255] * (len(packet) // 255) + [len(packet) % 255])
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(segments)) + bytes(segments)
    page = header + b"".join(packets)
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def sample_voice_note(seconds: float = 3.0, serial: int = 0x4D41) -> bytes:
    """An Ogg Opus file of `seconds` of silence, with the headers players and mutagen read."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, _OPUS_PRE_SKIP, 48000, 0, 0)
    vendor = b"maestra sandbox"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    pages = [_ogg_page([head], 0, serial, 0, 0x02), _ogg_page([tags], 0, serial, 1, 0)]
    frames = max(1, int(seconds * 50))
    sequence, granule = 2, 0
    for start in range(0, frames, 200):
        count = min(200, frames - start)
        granule += count * 960 + (_OPUS_PRE_SKIP if start == 0 else 0)
        last = start + count >= frames
        pages.append(_ogg_page([_SILENT_OPUS_FRAME] * count, granule, serial, sequence, 0x04 if last else 0))
        sequence += 1
    return b"".join(pages)


# --- a document: a one-page PDF saying what it is ----------------------------------------------

def sample_pdf(title: str = "Sandbox document") -> bytes:
    safe = "".join(c for c in title if c.isalnum() or c in " .,-")[:60]
    stream = f"BT /F1 18 Tf 72 720 Td ({safe}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# --- a video: an MP4 container of the given length, without frames ------------------------------
# (Encoding real frames needs a codec; this is enough for players to show a 0:0N video and for
# type checks to see an MP4. The demo's pictures, voice notes and documents are real.)

def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def sample_video(seconds: int = 5) -> bytes:
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
    mvhd = _box(b"mvhd", struct.pack(">IIIII", 0, 0, 0, 1000, seconds * 1000) + struct.pack(">IH", 0x00010000, 0x0100)
                + b"\x00" * 10 + matrix + b"\x00" * 24 + struct.pack(">I", 2))
    return ftyp + _box(b"moov", mvhd)

