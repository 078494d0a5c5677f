"""A fuzzing campaign: `python tests/fuzz/campaign.py --n 5000 [--start 0] [--jax-every 10]` (or `make fuzz N=5000`).

Runs programs seed = start … start+n−1, prints the counts (programs, checks, outcomes by class)
and, for each distinct failure (check + first words of its message), a minimized repro.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fuzz_programs as fp  # noqa: E402  (the directory is put on sys.path just above)


def campaign(n: int, start: int = 0, jax_every: int = 10, minimize: bool = True, out=sys.stdout) -> dict:
    counts: collections.Counter = collections.Counter()
    kinks: collections.Counter = collections.Counter()
    unsupported: collections.Counter = collections.Counter()
    failures: dict = {}
    t0 = time.time()
    for seed in range(start, start + n):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prog, outcomes = fp.run_program(seed, jax_every)
        counts["programs"] += 1
        for o in outcomes:
            counts["checks"] += 1
            counts[o.status] += 1
            if o.status == "kink":
                kinks[f"{o.check} near {o.detail}"] += 1
            elif o.status == "unsupported":
                unsupported[f"{o.check}: {o.detail[:90]}"] += 1
            elif o.status == "fail":
                key = (o.check, " ".join(o.detail.split()[:6]))
                failures.setdefault(key, []).append((seed, o.detail))
    counts["seconds"] = round(time.time() - t0, 1)
    print(f"programs {counts['programs']}  checks {counts['checks']}  ok {counts['ok']}  kink {counts['kink']}  "
          f"unsupported {counts['unsupported']}  fail {counts['fail']}  ({counts['seconds']} s)", file=out)
    for k, c in kinks.most_common():
        print(f"  kink        {c:5d}  {k}", file=out)
    for k, c in unsupported.most_common(15):
        print(f"  unsupported {c:5d}  {k}", file=out)
    for (check, head), seeds in sorted(failures.items(), key=lambda kv: -len(kv[1])):
        print(f"  FAIL        {len(seeds):5d}  {check}: {head}  (seeds {[s for s, _ in seeds[:8]]})", file=out)
    if minimize:
        for (check, _), seeds in failures.items():
            seed = seeds[0][0]
            small = fp.minimize(fp.generate(seed), check, check.startswith("jax"))
            print(f"\n# ---- repro: check {check}, seed {seed}: {seeds[0][1][:200]}\n{small.repro()}", file=out)
    return {"counts": counts, "kinks": kinks, "unsupported": unsupported, "failures": failures}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--jax-every", type=int, default=10, help="JAX oracle on every k-th program (0: never)")
    ap.add_argument("--no-minimize", action="store_true")
    args = ap.parse_args()
    res = campaign(args.n, args.start, args.jax_every, not args.no_minimize)
    sys.exit(1 if res["failures"] else 0)


if __name__ == "__main__":
    main()
