"""Drive m2mdl's transfer engine (``m2mdl.transfer.run_transfers``) on plain URLs.

Used by ``bench.py`` for the cases the CLI cannot express exactly (one 1 GiB file, eight
64 MiB files): no M2M API, no UI, the same engine the CLI uses, with its default options
except the ones given here.

    python benchmarks/engine_driver.py --workers 4 --segments 1 --dir OUT URL [URL ...]

Prints one JSON line (files, bytes, ok) and exits 0 only when every file was published.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

from m2mdl.transfer import FileJob, NullSink, TransferOptions, run_transfers


def main(argv: list[str] | None = None) -> int:
    """Download every URL into ``--dir``; exit 0 when all are verified and published."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--dir", type=Path, required=True, help="output directory")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--chunk-size", type=int, default=None, help="bytes per read")
    parser.add_argument("--size", type=int, default=None, help="expected size of each file")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        FileJob(
            key=str(i),
            url=url,
            dest=args.dir / Path(urlsplit(url).path).name,
            expected_size=args.size,
        )
        for i, url in enumerate(args.urls)
    ]
    extra = {} if args.chunk_size is None else {"chunk_size": args.chunk_size}
    options = TransferOptions(workers=args.workers, segments=args.segments, **extra)
    results = run_transfers(jobs, options, NullSink())
    ok = all(r.ok for r in results)
    print(
        json.dumps(
            {
                "files": len(results),
                "ok": ok,
                "bytes": sum(r.size for r in results),
                "attempts": sum(r.attempts for r in results),
                "errors": [r.error for r in results if not r.ok],
            }
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
