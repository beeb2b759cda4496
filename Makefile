# adlip: two commands do everything. `make book` executes every notebook with papermill under a
# profile and renders the static book; `make test` runs the tests (unit tests, every notebook under
# the smoke profile, a book build). Both create .venv/ and install the pinned stack on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= quick
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: install test book colab sweep clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (adlip)" >/dev/null
	@touch $(STAMP)

install: $(STAMP)

# The suite runs in pytest processes, one per group of test files: TensorFlow keeps much of every
# model a process has built, and one process for the whole suite grew past the 24 GiB of this
# project's machines. One pytest process keeps only about 1.2 of two cores busy, so a second lane
# runs beside the groups: the chapters (each executed in a kernel of its own) and the longest
# tests, which the groups then leave out, chosen so that the two take about the same time. Every
# test runs once; a failure anywhere fails the command, and the exit status is the last failure's.
# Each process keeps TensorFlow's default thread pools: one thread per process was measured slower
# for the two lanes together (benchmarks/bench_test_threads.sh: 278 s against 238 s).
#
# The second lane is itself three pytest processes, one after the other: TensorFlow (2.21) keeps
# the memory of every network a tf.function has trained with an optimizer, even after the Python
# objects are gone (+0.87 GB per Lipschitz AnoGAN fit, whose generator holds 94 M values:
# benchmarks/bench_fit_memory.py). The long tests in one process peaked at 14.6 GB resident (the
# chapters themselves run in kernels of their own; MALLOC_ARENA_MAX=2 made no difference), enough
# beside a group's 9 GB to run a 24 GiB machine out of memory. Apart, the GAN training tests peaked
# at 7.8 GB and then the determinism tests added 2.1 GB, so they run in processes of their own; the
# chapters stay with the studies they render, which share session fixtures (mode collapse: +6.2 GB).
# The group of files f-n, which peaked at 9.1 GB (4.0 GB after the files f-k, then 4.4 GB more in
# test_lipschitz_networks.py), is split in two as well.
TEST_GROUPS := 'tests/test_[a-c]*.py' 'tests/test_[d-e]*.py' 'tests/test_[f-k]*.py' 'tests/test_[l-n]*.py' \
	'tests/test_[o-z]*.py'
LONG_CHAPTERS := tests/test_notebooks.py tests/test_records_unchanged.py tests/test_mode_collapse.py
LONG_GAN_TESTS := tests/test_anogan.py::test_bjorck_generator_is_below_k_as_built \
	tests/test_fanogan.py::test_training_stopped_midway_resumes_to_the_same_networks \
	tests/test_anogan.py::test_training_stopped_midway_resumes_to_the_same_networks[1.0] \
	tests/test_anogan.py::test_standard_anogan_separates_real_mnist_ones_from_the_rest
LONG_DETERMINISM := tests/test_determinism.py::test_same_seed_gives_the_same_bits_on_a_loaded_machine
LONG_TESTS := $(LONG_CHAPTERS) $(LONG_GAN_TESTS) $(LONG_DETERMINISM)
PYTEST := $(BIN)/python -m pytest -q --durations=25

test: $(STAMP)
	@long_log=$$(mktemp); \
	( lane=0; for tests in "$(LONG_CHAPTERS)" "$(LONG_GAN_TESTS)" "$(LONG_DETERMINISM)"; do \
	      $(PYTEST) $$tests || lane=$$?; done; exit $$lane ) \
	    > $$long_log 2>&1 & long=$$!; \
	status=0; for group in $(TEST_GROUPS); do \
	    echo "== pytest $$group"; \
	    $(PYTEST) $(addprefix --deselect ,$(LONG_TESTS)) $$group || status=$$?; \
	done; \
	wait $$long || status=$$?; \
	echo "== pytest $(LONG_TESTS) (run beside the groups)"; cat $$long_log; rm -f $$long_log; \
	exit $$status

book: $(STAMP)
	$(BIN)/python -m adlip.book --profile $(PROFILE)

# the .ipynb files Colab's launch buttons open (unexecuted; install cells pinned to this commit)
colab: $(STAMP)
	$(BIN)/python -m adlip.book --colab _build/colab

clean:
	rm -rf _build .pytest_cache
