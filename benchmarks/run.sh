#!/usr/bin/env bash
# One command for m2mdl's benchmarks:
#   bash benchmarks/run.sh [--quick] [--rounds N] [--cases 1,2,...] [--baseline REV]
#
# Installs what it needs (Debian packages nginx-light, curl, aria2: one `apt-get update`,
# as root; a venv in .venv with m2mdl when there is none), then runs benchmarks/bench.py.
# Writes benchmarks/results/latest.{md,json} (quick.{md,json} with --quick).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v aria2c >/dev/null 2>&1 || missing+=(aria2)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "missing: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
        exit 2
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet -e .
fi
.venv/bin/python -c "import m2mdl" 2>/dev/null || .venv/bin/python -m pip install --quiet -e .

exec .venv/bin/python benchmarks/bench.py "$@"
