"""Route-planning benchmark: PyVRP on CVRPLIB instances against their best-known solutions.

    python benchmarks/routing.py --instances ../shared/data/cvrplib --seconds 20

Reads every ``.vrp`` with a ``.sol`` beside it and prints instance, cost, best-known, gap (%).
One core: PyVRP's search is single-threaded.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logistics.ml.routing import solve_cvrplib  # noqa: E402


def best_known(solution: Path) -> int:
    match = re.search(r"^\s*Cost\s+([0-9.]+)", solution.read_text(), flags=re.MULTILINE | re.IGNORECASE)
    if not match:
        raise ValueError(f"{solution}: no 'Cost' line")
    return round(float(match.group(1)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", required=True, help="folder with .vrp/.sol pairs")
    parser.add_argument("--seconds", type=float, default=20.0, help="time limit per instance")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = Path(args.instances)
    pairs = [(vrp, vrp.with_suffix(".sol")) for vrp in sorted(folder.glob("*.vrp")) if vrp.with_suffix(".sol").exists()]
    if not pairs:
        print(f"no .vrp/.sol pairs in {folder}", file=sys.stderr)
        return 2
    print(f"{'instance':<16} {'cost':>9} {'best-known':>11} {'gap %':>7} feasible")
    gaps = []
    for vrp, sol in pairs:
        cost, feasible = solve_cvrplib(str(vrp), seconds=args.seconds, seed=args.seed)
        bks = best_known(sol)
        gap = 100.0 * (cost - bks) / bks
        gaps.append(gap)
        print(f"{vrp.stem:<16} {cost:>9d} {bks:>11d} {gap:>7.2f} {feasible}", flush=True)
    mean = sum(gaps) / len(gaps)
    print(f"{'mean':<16} {'':>9} {'':>11} {mean:>7.2f}")
    print(f"target mean gap <= 1.00 %: {'PASS' if mean <= 1.0 else 'FAIL'} at {args.seconds:g} s per instance")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
