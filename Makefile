# One-line targets over `ser`. Build outputs go to a cache outside the clone
# so that a warm machine rebuilds little.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/ser-target
SER    := $(CARGO_TARGET_DIR)/release/ser
STORE  ?= ser-store
DATA   ?= $(if $(wildcard ../shared/ravdess),../shared/ravdess,data)
DEMO   ?= demo
OUT    ?= ravdess.ser
PYTHON ?= python3
# Cargo features, e.g. FEATURES=ser-pipeline/mic (the microphone for `ser
# listen`; needs libasound2-dev). The same for every target, so nothing is
# built twice.
FEATURES ?=
CARGO_FEATURES = $(if $(FEATURES),--features $(FEATURES))
# `ser` exits 3 when it finished but skipped some inputs (named on stderr).
OK_IF_SKIPPED = || test $$? -eq 3

.PHONY: model serve parity-train reproduce reproduce-quick install build demo data metadata features train-cnn train-lstm train-cnn-lstm report notebooks notebook-deps test test-deps fuzz lint bench bench-deps bench-train clean-demo

build:
	cargo build --release -p ser-pipeline --bin ser $(CARGO_FEATURES)

## Puts `ser` on your PATH (~/.cargo/bin), reusing the build cache.
install:
	cargo install --locked --path pipeline --bin ser $(CARGO_FEATURES)

## The main job on the built-in demo corpus (no data needed).
demo: build
	$(SER) synth --out $(DEMO)/data
	$(SER) --store $(DEMO)/store metadata --data $(DEMO)/data $(OK_IF_SKIPPED)
	$(SER) --store $(DEMO)/store features $(OK_IF_SKIPPED)
	$(SER) --store $(DEMO)/store train --model cnn --epochs 4 --window 64
	$(SER) --store $(DEMO)/store report $(OK_IF_SKIPPED)

## The full RAVDESS speech set (1440 clips, ~208 MB) into data/, resumable, verified.
data: build
	$(SER) download --out data

metadata: build
	$(SER) --store $(STORE) metadata --data $(DATA) $(OK_IF_SKIPPED)

## Metadata + MFCC shards (clean and noisy) for DATA into STORE, incrementally,
## and the set with si-cnn's two training copies per clip (`--augment 2`).
features: metadata
	$(SER) --store $(STORE) features $(OK_IF_SKIPPED)
	$(SER) --store $(STORE) features --augment 2 $(OK_IF_SKIPPED)

## Training with the paper's settings (CNN 100 epochs / batch 30; LSTM and
## CNN+LSTM 50 / 28), random 75/25 split; TRAIN="--split speakers" etc. adds flags.
## A finished run with the same config and data is reused (TRAIN=--force retrains).
train-cnn: features
	$(SER) --store $(STORE) train --model cnn $(TRAIN)

train-lstm: features
	$(SER) --store $(STORE) train --model lstm $(TRAIN)

train-cnn-lstm: features
	$(SER) --store $(STORE) train --model cnn-lstm $(TRAIN)

## The paper's table and the speaker-independent table for DATA, one
## resumable command: reports/paper/REPORT.md in STORE. REPRODUCE="--only lstm" etc. adds flags.
reproduce: build
	$(SER) --store $(STORE) reproduce --data $(DATA) $(REPRODUCE)

## The recommended model as one file you can carry (no store needed to use
## it): make model DATA=path/to/corpus [OUT=ravdess.ser]; MODEL="--force" etc. adds flags.
model: build
	$(SER) --store $(STORE) model build --data $(DATA) --out $(OUT) $(MODEL)

## The web page over the model file (http://127.0.0.1:8080/ unless
## SERVE="--addr …"; Ctrl-C stops it): make serve [OUT=ravdess.ser].
serve: build
	$(SER) serve --model $(OUT) $(SERVE)

## The same, two epochs each, on the demo corpus (what CI runs).
reproduce-quick: demo
	$(SER) --store $(DEMO)/store reproduce --quick

## The run table and the paper's figures (PNG) for every run in STORE.
report: build
	$(SER) --store $(STORE) report $(OK_IF_SKIPPED)

## Execute the notebooks headless against the demo store (fails on any cell error).
notebooks: demo notebook-deps
	$(PYTHON) notebooks/run.py --store $(DEMO)/store --out $(DEMO)/notebooks

notebook-deps:
	$(PYTHON) -m pip install -q --disable-pip-version-check -r notebooks/requirements.txt

## Unit and integration tests; integration tests drive the release binary,
## so the dependency tree is built once, in release mode. The tests also
## read the store back with DuckDB and polars from Python.
test: test-deps
	cargo test --release --workspace $(CARGO_FEATURES)

test-deps:
	$(PYTHON) -m pip install -q --disable-pip-version-check -r requirements-test.txt

## Only the fuzz suite (pipeline/tests/it/fuzz*), longer: SER_FUZZ_SECS seconds
## of cases in all, spread over its targets (`make test` gives it 30).
## SER_FUZZ_SEED=N draws other inputs; SER_FUZZ_REPLAY=SEED reruns one case.
SER_FUZZ_SECS ?= 600
fuzz:
	SER_FUZZ_SECS=$(SER_FUZZ_SECS) cargo test --release --workspace $(CARGO_FEATURES) --test it -- fuzz::

lint:
	cargo fmt --all -- --check
	cargo clippy --release --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --release --workspace --no-deps

bench-deps:
	$(PYTHON) -m pip install -q -r bench/requirements.txt
	$(PYTHON) -m pip install -q -r bench/requirements-train.txt

## Feature build vs librosa on DATA, same run; prints files/s and the ratio.
bench: build bench-deps
	$(PYTHON) bench/features_bench.py --ser $(SER) --data $(DATA)
	cargo bench -q -p ser-pipeline --bench kernels
	$(PYTHON) bench/timeline_bench.py --ser $(SER)
	$(PYTHON) bench/predict_bench.py --ser $(SER)
	$(PYTHON) bench/serve_bench.py --ser $(SER)
	$(MAKE) bench-train

## Seconds per epoch, paper CNN and LSTM on 2160 random 130 x 40 clips:
## dfdx vs Keras (TensorFlow CPU), same run, as a ratio.
bench-train:
	cargo build --release -q -p ser-models --bench epoch
	$(PYTHON) bench/train_bench.py --clips $(or $(CLIPS),2160)

## One fold trained by ser and by Keras from the same initial weights and
## batches, curves side by side: make parity-train STORE=... MODEL=lstm|cnn|cnn-lstm
parity-train: bench-deps
	$(PYTHON) bench/parity_train.py --store $(STORE) --model $(or $(MODEL),lstm) $(if $(EPOCHS),--epochs $(EPOCHS))

clean-demo:
	rm -rf $(DEMO)
