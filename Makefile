# One-line targets over `ser`. Build outputs go to a cache outside the clone
# so that a warm machine rebuilds little.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/ser-target
SER    := $(CARGO_TARGET_DIR)/release/ser
STORE  ?= store
DATA   ?= $(if $(wildcard ../shared/ravdess),../shared/ravdess,data)
DEMO   ?= demo
PYTHON ?= python3
# `ser` exits 3 when it finished but skipped some inputs (named on stderr).
OK_IF_SKIPPED = || test $$? -eq 3

.PHONY: build demo data metadata features test test-deps lint bench bench-deps clean-demo

build:
	cargo build --release -p ser-pipeline --bin ser

## The main job on the built-in demo corpus (no data needed).
demo: build
	$(SER) synth --out $(DEMO)/data
	$(SER) --store $(DEMO)/store metadata --data $(DEMO)/data $(OK_IF_SKIPPED)
	$(SER) --store $(DEMO)/store features $(OK_IF_SKIPPED)

## The full RAVDESS speech set (1440 clips, ~208 MB) into data/, resumable, verified.
data: build
	$(SER) download --out data

metadata: build
	$(SER) --store $(STORE) metadata --data $(DATA) $(OK_IF_SKIPPED)

## Metadata + MFCC shards (clean and noisy) for DATA into STORE, incrementally.
features: metadata
	$(SER) --store $(STORE) features $(OK_IF_SKIPPED)

## Unit and integration tests; integration tests drive the release binary,
## so the dependency tree is built once, in release mode. The tests also
## read the store back with DuckDB and polars from Python.
test: test-deps
	cargo test --release --workspace

test-deps:
	$(PYTHON) -m pip install -q --disable-pip-version-check -r requirements-test.txt

lint:
	cargo fmt --all -- --check
	cargo clippy --release --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --release --workspace --no-deps

bench-deps:
	$(PYTHON) -m pip install -q -r bench/requirements.txt

## Feature build vs librosa on DATA, same run; prints files/s and the ratio.
bench: build bench-deps
	$(PYTHON) bench/features_bench.py --ser $(SER) --data $(DATA)
	cargo bench -q -p ser-pipeline --bench kernels

clean-demo:
	rm -rf $(DEMO)
