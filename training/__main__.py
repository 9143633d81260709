"""``python -m training [--seed 7] [--n 20000] [--types student teacher] [--out layers/model/models]``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from training.population import MIXTURES
from training.train import train, write_manifest

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "layers" / "model" / "models"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--n", type=int, default=20_000, help="synthetic users per identity type")
    parser.add_argument("--types", nargs="+", default=sorted(MIXTURES), choices=sorted(MIXTURES))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    results = []
    for identity_type in args.types:
        started = time.perf_counter()
        r = train(identity_type, args.n, args.seed, args.out)
        results.append(r)
        print(f"{identity_type}: {r.version} AUC={r.metrics['auc']:.4f} ECE={r.metrics['ece']:.4f} "
              f"threshold={r.threshold:.2f} ({time.perf_counter() - started:.1f}s)")
    write_manifest(results, args.out)
    print(f"wrote {args.out}/manifest.json and MODEL_CARD.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
