#!/usr/bin/env python3
"""Executes the notebooks headless against a store (nbclient); fails on the
first cell that raises. Executed copies go to OUT (not into the repo).

    python3 notebooks/run.py --store demo/store --out demo/notebooks
"""
import argparse
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent
NOTEBOOKS = ["explore_features.ipynb", "compare_runs.ipynb"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.environ["SER_STORE"] = str(Path(args.store).resolve())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in NOTEBOOKS:
        nb = nbformat.read(HERE / name, as_version=4)
        client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}})
        try:
            client.execute()
        except CellExecutionError as e:
            nbformat.write(nb, out / name)
            print(f"notebook {name} failed:\n{e}", file=sys.stderr)
            return 1
        nbformat.write(nb, out / name)
        print(f"notebook {name}: ok -> {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
