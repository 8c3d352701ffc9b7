"""Scoring a speaker-split RAVDESS run's folds on altered copies of their
own test clips: shared by `babble_where.py`, `babble_whose.py`,
`held_back.py`, `speed_parts.py` and `tilt_answers.py`.

Each fold's test clips are changed by the caller, written as float WAV,
and classified with that fold's model (`ser predict --run RUN --fold K
--json`): the model has never heard those speakers. UAR per fold and
variant, and their mean over folds.
"""
import argparse
import glob
import json
import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import soundfile as sf

EMOTIONS = {1: "neutral", 2: "calm", 3: "happy", 4: "sad", 5: "angry", 6: "fearful",
            7: "disgust", 8: "surprised"}


def run_parser(description):
    """Flags every fold-scoring bench takes: the binary, the store, the
    run, the RAVDESS folder and which folds."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--ser", default="ser")
    ap.add_argument("--store", default="ser-store")
    ap.add_argument("--run", required=True)
    ap.add_argument("--data", required=True, help="RAVDESS folder (Actor_NN/*.wav)")
    ap.add_argument("--folds", default=None, help="folds to score, e.g. 3,5 [default: all]")
    ap.add_argument("--seed", type=int, default=0)
    return ap


def parsed_run(ap):
    """`ap`'s flags parsed, the run's classes, its {fold: test actors} and
    the folds to score."""
    a = ap.parse_args()
    classes, folds = run_folds(a.store, a.run)
    return a, classes, folds, chosen_folds(a, folds)


def parsed_conditions(description, conditions):
    """`parsed_run` for a bench of conditions: also `--conditions`
    (default: `conditions`), returned as a list after the rest."""
    ap = run_parser(description)
    ap.add_argument("--conditions", default=",".join(conditions))
    a, classes, folds, chosen = parsed_run(ap)
    return a, classes, folds, chosen, a.conditions.split(",")


def chosen_folds(a, folds):
    """The folds `--folds` names, else all of `folds`."""
    return [int(k) for k in a.folds.split(",")] if a.folds else sorted(folds)


def load(path):
    """Mono float64 samples and the rate."""
    y, sr = sf.read(path, dtype="float64")
    return (y if y.ndim == 1 else y.mean(axis=1)), sr


def run_folds(store, run):
    """The run's classes and {fold: test actors}."""
    cfg = json.load(open(os.path.join(store, "runs", run, "config.json")))
    return cfg["classes"], dict(zip(cfg["folds"], cfg["test_actors"]))


def actor_clips(data, actors):
    return [f for a in actors for f in sorted(glob.glob(f"{data}/Actor_{a:02d}/*.wav"))]


def other_clips(data, actors):
    """Clips of every speaker but `actors`."""
    return [f for f in sorted(glob.glob(f"{data}/Actor_*/*.wav"))
            if int(f.split("-")[-1][:2]) not in actors]


def emotion_of(path):
    """The emotion code (1-8) of a RAVDESS file name, also when the name
    carries a prefix of its own (`3-clean-03-01-05-...wav`): the fifth
    field from the end."""
    return int(os.path.basename(path).split("-")[-5])


def uar(actual, predicted):
    return np.mean([np.mean(predicted[actual == c] == c) for c in np.unique(actual)])


def score(ser, store, run, fold, classes, files):
    """UAR (%) of fold `fold`'s model on `files` (RAVDESS names)."""
    actual, predicted = predictions(ser, store, run, fold, classes, files)
    return 100 * uar(actual, predicted)


def predictions(ser, store, run, fold, classes, files):
    """Class indices, true and predicted by fold `fold`'s model, of `files`
    (RAVDESS names)."""
    got = subprocess.run(
        [ser, "-q", "--store", store, "predict", "--run", run, "--fold", str(fold), "--json",
         *files], capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in got.splitlines() if line.strip()]
    actual = np.array([classes.index(EMOTIONS[emotion_of(r["file"])]) for r in rows])
    predicted = np.array([classes.index(r["label"]) for r in rows])
    return actual, predicted


def score_variants(a, classes, fold, files, table, predicted):
    """Classifies each variant's `files[v]` with fold `fold`'s model: its UAR
    (%) into `table[(fold, v)]`, its predicted class names onto
    `predicted[v]`."""
    for v, paths in files.items():
        actual, got = predictions(a.ser, a.store, a.run, fold, classes, paths)
        table[(fold, v)] = 100 * uar(actual, got)
        predicted[v].extend(classes[i] for i in got)


def score_conditions(a, classes, folds, chosen, conditions, make):
    """Each chosen fold's own test clips under each condition, scored with
    that fold's model. `make(k, c, f, tmp)` writes clip `f` under condition
    `c` for fold `k` into the folder `tmp` and returns the file's path (its
    name ending in the RAVDESS name); the files are made in parallel and
    removed once scored. Returns {(fold, condition): UAR (%)} and
    {condition: the predicted class names}."""
    table, predicted = {}, {c: [] for c in conditions}
    with tempfile.TemporaryDirectory() as tmp:
        for k in chosen:
            jobs = [(c, f) for c in conditions for f in actor_clips(a.data, folds[k])]
            with ThreadPoolExecutor(os.cpu_count()) as pool:
                written = list(pool.map(lambda job: make(k, *job, tmp), jobs))
            files = {c: [w for (cj, _), w in zip(jobs, written) if cj == c] for c in conditions}
            score_variants(a, classes, k, files, table, predicted)
            for w in written:
                os.remove(w)
    return table, predicted


def print_table(table, folds, variants):
    print("fold  " + "  ".join(f"{v:>9s}" for v in variants))
    for k in folds:
        print(f"{k:4d}  " + "  ".join(f"{table[(k, v)]:9.1f}" for v in variants))
    print("mean  " + "  ".join(f"{np.mean([table[(k, v)] for k in folds]):9.1f}" for v in variants))
