# onnxquant's build and test entry points. `make test` is what CI runs
# (through .ci/run); it installs what the tests need first.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

GO ?= $(if $(wildcard /usr/local/go/bin/go),/usr/local/go/bin/go,go)
APT_PACKAGES := protobuf-compiler python3-onnx chromium
TEST_LOG := .cache/go-test.log
# The fuzz budget is a count of executions, not a duration: Go 1.26's fuzz
# coordinator can report a spurious "context deadline exceeded" failure when a
# wall-clock -fuzztime expires while a worker is busy (go.dev/issue/75804,
# fixed in Go 1.27). 200000 runs take 10 to 60 s on a 2-core machine.
FUZZTIME ?= 200000x

.PHONY: all setup setup-apt setup-ort test build bench-calibrate bench-models bench-quantize bench bench-engine

all: build

# setup installs ONNX Runtime into .cache/onnxruntime and the Debian
# packages used by developers' cross-checks (protoc, Python's onnx) and by
# the HTML report test (headless Chromium).
setup: setup-ort setup-apt

setup-ort:
	bash scripts/setup-onnxruntime.sh

setup-apt:
	@missing=""; \
	command -v protoc >/dev/null 2>&1 || missing="$$missing protobuf-compiler"; \
	/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1 || missing="$$missing python3-onnx"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "warning: not root, not installing:$$missing (apt-get install -y$$missing)" >&2; \
		exit 0; \
	fi; \
	echo "installing:$$missing"; \
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing

# test vets, checks the build without cgo, and runs every test. The go test
# output is also kept in $(TEST_LOG); a per-package count follows it.
test: setup
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build ./...
	@# Other architectures build (portable kernels, no assembly).
	GOARCH=arm64 CGO_ENABLED=0 $(GO) build ./...
	GOARCH=386 CGO_ENABLED=0 $(GO) build ./...
	@# The model decoder's fuzz target for a bounded number of runs (its seed
	@# corpus also runs below as an ordinary test).
	$(GO) test ./onnx -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) -fuzzminimizetime 10s
	@# The engine and its kernels with the portable Go kernels instead of
	@# the assembly ones.
	$(GO) test -count=1 -tags purego ./engine/... ./internal/gemm ./internal/parallel
	@# The parallel loops, and runs sharing a session while one of them
	@# builds its fused steps, under the race detector.
	$(GO) test -count=1 -race ./internal/parallel
	$(GO) test -count=1 -race -run 'LazyFusion|TestArena' ./engine
	@mkdir -p $(dir $(TEST_LOG)); \
	rc=0; $(GO) test ./... -count=1 -timeout 40m 2>&1 | tee $(TEST_LOG) || rc=$$?; \
	ok=$$(grep -c '^ok ' $(TEST_LOG) || true); \
	failed=$$(grep -c '^FAIL[[:space:]]' $(TEST_LOG) || true); \
	none=$$(grep -c '^?[[:space:]]' $(TEST_LOG) || true); \
	echo "go test summary: $$ok packages ok, $$failed packages failed, $$none packages without tests"; \
	exit $$rc

# build makes bin/onnxquant when the command exists.
build:
	@if [ -d cmd/onnxquant ]; then \
		mkdir -p bin && $(GO) build -o bin/onnxquant ./cmd/onnxquant && echo bin/onnxquant; \
	else \
		echo "no ./cmd/onnxquant yet; nothing to build"; \
	fi

# bench-calibrate prints calibration figures: collector and range-choice
# costs, throughput (samples/s) of each method on the Go engine and ONNX
# Runtime (fastestdet on CALIBRATE_BENCH_IMAGES, default 20, ImageNet sample
# images), and the peak RSS of the onnxquant binary calibrating 20 and 200
# images against one inference. Not part of `make test`.
bench-calibrate: setup
	$(GO) test ./calibrate -run '^$$' -bench 'CollectorAdd|Range' -timeout 30m
	$(GO) test ./calibrate -run '^$$' -bench 'Calibrate' -benchtime 1x -timeout 60m -v

# bench-quantize times quantizing a ResNet50-size model against loading and
# saving it, its peak memory, and its int8 speed in ONNX Runtime.
bench-quantize: setup
	$(GO) test ./quantize -run '^$$' -bench 'ResNet50' -benchtime 3x -timeout 30m

# bench-models measures calibrate + quantize + evaluate on the shared models
# (sizes, latencies in ONNX Runtime and the pure-Go engine, int8 quality,
# time, peak memory) and updates its table in BENCHMARKS.md.
bench-models: setup
	$(GO) run ./internal/cmd/benchmodels -o BENCHMARKS.md

# bench-engine times the pure-Go engine against ONNX Runtime (1 and 2
# threads, the shared CNNs and a ResNet50-size model) and the float GEMM
# against the measured FMA peak, and updates its section of BENCHMARKS.md.
bench-engine: setup
	GO=$(GO) bash scripts/bench-engine.sh
