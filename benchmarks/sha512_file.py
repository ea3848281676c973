"""Hash one file with ``hashlib.sha512`` in 1 MiB reads: the cost of the hash alone.

Measured by case 1 beside the downloaders, on the same bytes (the source file nginx serves,
in the page cache), so "CPU per GB of curl + CPU per GB of the hash" is a figure from the
same run.

    python benchmarks/sha512_file.py FILE --expect HEX

Exits 0 when the digest is ``HEX``, 1 otherwise (so a wrong result counts as a failed run).
"""

from __future__ import annotations

import argparse
import hashlib
import sys

READ_SIZE = 1 << 20


def main(argv: list[str] | None = None) -> int:
    """Hash ``FILE``; exit 0 when it matches ``--expect``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file")
    parser.add_argument("--expect", required=True, help="expected SHA-512, hex")
    args = parser.parse_args(argv)
    digest = hashlib.sha512()
    buf = bytearray(READ_SIZE)
    view = memoryview(buf)
    with open(args.file, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            digest.update(view[:n])
    return 0 if digest.hexdigest() == args.expect.lower() else 1


if __name__ == "__main__":
    sys.exit(main())
