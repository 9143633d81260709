"""``python -m bench [name ...]``: run the benchmarks (all of them by default).

With more than one benchmark, each runs in its own fresh process: a LocalStack's
moto backends and the per-container caches (``shared.aws`` clients, wired
services) are process-global, so a second stack in the same process would find
the first one's tables and call its stopped emulator.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name.removeprefix("bench_") for m in pkgutil.iter_modules([str(here)])
                   if m.name.startswith("bench_"))
    wanted = argv or names
    unknown = [n for n in wanted if n not in names]
    if unknown:
        print(f"unknown benchmark(s): {unknown}; available: {names}")
        return 2
    if len(wanted) == 1:
        print(f"\n=== bench {wanted[0]} ===", flush=True)
        importlib.import_module(f"bench.bench_{wanted[0]}").main()
        return 0
    failed = [name for name in wanted
              if subprocess.run([sys.executable, "-m", "bench", name], check=False).returncode != 0]
    if failed:
        print(f"\nfailed: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
