# Two entry points for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# llama.cpp is compiled for a portable x86-64 baseline (AVX2). A -march=native build enables
# AMX on recent Xeons, which crashes in virtual machines that do not grant AMX state.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
export HF_HUB_OFFLINE = 1

.PHONY: run test setup testdata lint bench gpu llama-server clean

# A real 311-page manual for the document tests and benchmarks (Debian's gnuplot-doc), unpacked
# under build/ without installing anything system-wide. Elsewhere those tests skip, saying why.
SYSTEM_PDF := $(wildcard /usr/share/doc/gnuplot/gnuplot.pdf)
REAL_PDF := $(if $(SYSTEM_PDF),$(SYSTEM_PDF),build/testdata/usr/share/doc/gnuplot/gnuplot.pdf)
export HEARTH_REAL_PDF ?= $(abspath $(REAL_PDF))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/hearth

build/testdata/usr/share/doc/gnuplot/gnuplot.pdf:
	@mkdir -p build/testdata
	@(cd build/testdata && apt-get download gnuplot-doc >/dev/null 2>&1 \
		&& dpkg -x gnuplot-doc_*.deb . && rm -f gnuplot-doc_*.deb) \
		|| echo "note: gnuplot-doc not available; the real-PDF tests will be skipped"

testdata: $(REAL_PDF)

# Bytecode is compiled once first (as an install has it): with PYTHONDONTWRITEBYTECODE set, every
# process a test starts would compile Hearth's modules again.
test: setup testdata
	$(BIN)/python -m compileall -q app engine ui > /dev/null
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n auto --dist worksteal

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: setup
	$(BIN)/python bench/engine.py

# Rebuild llama.cpp with CUDA for an NVIDIA GPU (skips pip's cached CPU build).
gpu: setup
	CMAKE_ARGS="-DGGML_CUDA=on" $(BIN)/python -m pip install --no-cache-dir --force-reinstall \
		--no-deps "llama-cpp-python==$$($(BIN)/python -c 'import llama_cpp; print(llama_cpp.__version__)')"

# llama.cpp's own server, for the remote-engine tests that talk to llama-server (they skip,
# saying why, without it). Built from the llama.cpp inside the llama-cpp-python release Hearth
# pins, with the same portable flags; slow on two cores, so it is not part of `make test`.
LLAMA_CPP_PYTHON := $(shell sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml)
LLAMA_SERVER_DIR := build/llama-server

llama-server: $(LLAMA_SERVER_DIR)/bin/llama-server

$(LLAMA_SERVER_DIR)/bin/llama-server: | $(BIN)/python
	mkdir -p $(LLAMA_SERVER_DIR)/src
	$(BIN)/python -m pip download --no-deps --no-binary :all: -d $(LLAMA_SERVER_DIR)/src \
		llama-cpp-python==$(LLAMA_CPP_PYTHON)
	tar -xzf $(LLAMA_SERVER_DIR)/src/llama_cpp_python-$(LLAMA_CPP_PYTHON).tar.gz -C $(LLAMA_SERVER_DIR)/src
	cmake -S $(LLAMA_SERVER_DIR)/src/llama_cpp_python-$(LLAMA_CPP_PYTHON)/vendor/llama.cpp \
		-B $(LLAMA_SERVER_DIR) $(CMAKE_ARGS) -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
		-DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
		-DLLAMA_BUILD_SERVER=ON
	cmake --build $(LLAMA_SERVER_DIR) --target llama-server

clean:
	rm -rf $(VENV) build *.egg-info
