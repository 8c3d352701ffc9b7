#!/usr/bin/env python3
"""UAR of runs and of their seed ensemble, from their predictions alone.

For runs of the same config but different `--seed` (the same folds, the
same test clips), prints each run's UAR of the clean test copies (mean
over folds, as `ser robustness` reports "as recorded") and that of the mean
of their probabilities, for every pair and for all of them: what
`ser train --members K` would give with those seeds, measured without
training again. Needs polars and numpy.

    python3 bench/ensemble_of_runs.py --store ser-store RUN1 RUN2 RUN3
"""
import argparse
import itertools
import json
import os

import numpy as np
import polars as pl


def fold_mean_uar(actual, predicted, folds):
    def uar(y, p):
        return np.mean([np.mean(p[y == c] == c) for c in np.unique(y)])
    return np.mean([uar(actual[folds == f], predicted[folds == f]) for f in np.unique(folds)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default="ser-store")
    ap.add_argument("runs", nargs="+")
    args = ap.parse_args()
    frames, classes = [], None
    for run in args.runs:
        d = os.path.join(args.store, "runs", run)
        classes = json.load(open(os.path.join(d, "config.json")))["classes"]
        df = (pl.read_parquet(os.path.join(d, "predictions.parquet"))
              .filter(pl.col("variant") == "clean").sort(["fold", "clip_id"]))
        if frames and df["clip_id"].to_list() != frames[0]["clip_id"].to_list():
            raise SystemExit(f"{run} has other test clips than {args.runs[0]}: not the same folds")
        frames.append(df)
    first = frames[0]
    actual = np.array([classes.index(a) if isinstance(a, str) else a for a in first["actual"].to_list()])
    folds = first["fold"].to_numpy()
    probs = [np.stack(df["probabilities"].to_list()) for df in frames]
    score = lambda p: 100 * fold_mean_uar(actual, p.argmax(1), folds)
    singles = [score(p) for p in probs]
    for run, s in zip(args.runs, singles):
        print(f"{run}: {s:.1f} %")
    print(f"mean of the single runs: {np.mean(singles):.1f} %")
    for k in range(2, len(probs) + 1):
        scores = [score(np.mean([probs[i] for i in c], axis=0))
                  for c in itertools.combinations(range(len(probs)), k)]
        print(f"ensembles of {k}: " + " / ".join(f"{s:.1f}" for s in scores)
              + f" % (mean {np.mean(scores):.1f})")


if __name__ == "__main__":
    main()
