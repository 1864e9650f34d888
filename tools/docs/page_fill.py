#!/usr/bin/env python3
"""How full the sample chapters' pages are: for every page but a chapter's last, the share of the
text area below the last printed line. Prints the emptiest pages and exits 1 when one is more than
half empty (issue "A chapter a consultant signs", layout). Reads the PNG pages of `make
sample-pages` (8-bit, non-interlaced, as `report-gen pages` writes them) with the standard library
alone.

    tools/docs/page_fill.py [docs/sample]
"""

import glob
import struct
import sys
import zlib

# The text area: below the running head, above the page number.
TOP, BOTTOM = 0.08, 0.88
INK = 200  # a grey level below this is printed


def rows_of(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if depth != 8 or interlace != 0:
        raise ValueError(f"{path}: only 8-bit non-interlaced pages are read")
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw, stride = zlib.decompress(idat), width * channels
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def empty_share(path):
    width, height, channels, rows = rows_of(path)
    top, bottom = int(height * TOP), int(height * BOTTOM)
    last = top
    for y in range(top, bottom):
        row = rows[y]
        if any(row[x * channels] < INK for x in range(int(width * 0.1), int(width * 0.9), 2)):
            last = y
    return (bottom - last) / (bottom - top)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "docs/sample"
    folders = sorted({p.rsplit("/", 1)[0] for p in glob.glob(f"{root}/**/page-*.png", recursive=True)})
    shares = []
    for folder in folders:
        pages = sorted(glob.glob(f"{folder}/page-*.png"))
        shares += [(empty_share(p), p) for p in pages[:-1]]
    shares.sort(reverse=True)
    for share, page in shares[:5]:
        print(f"{100 * share:4.0f}% empty  {page}")
    over = [p for s, p in shares if s > 0.5]
    print(f"{len(shares)} pages (each chapter's last left out), {len(over)} more than half empty")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
