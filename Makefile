# weft: the targets users type. The build itself is meson + ninja (meson.build).
#   make            build everything into build/ (release, hardened)
#   make test       build and run every test: unit (release and ASan+UBSan), namespace,
#                   fuzz smoke, conformance; last line "N passed, N failed"
#   make demo       a working tailnet in network namespaces on this machine
#   make demo-stop  tear the demo down
#   make fuzz       run every fuzz target for FUZZ_SECONDS (default 60) each
#   make bench      tunnel throughput against wireguard-go (docs/BENCHMARKS.md)
#   make bench-ctrl control-server load: NODES simulated nodes (default 1000; the target
#                   is 10000), one change timed to every map stream (docs/BENCHMARKS.md)
#   make check      clang-tidy over the sources
#   make format     clang-format the sources in place
#   make install    install the binaries (PREFIX via meson configure)
BUILD ?= build
FUZZ_SECONDS ?= 60
NODES ?= 1000
SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

.PHONY: all deps test demo demo-stop fuzz bench bench-ctrl check format install clean

all: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@scripts/install-deps.sh --check 2>/dev/null || scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --wrap-mode=nodownload

test: deps
	scripts/test.sh

demo: all
	scripts/demo.sh start

demo-stop:
	scripts/demo.sh stop

fuzz: deps
	scripts/fuzz.sh --seconds $(FUZZ_SECONDS)

bench: all
	bench/run.sh

bench-ctrl: all
	bench/ctrl_load.sh --nodes $(NODES)

check: all
	clang-tidy -p $(BUILD) --quiet $(filter %.c,$(SOURCES))

format:
	clang-format -i $(SOURCES)

install: all
	meson install -C $(BUILD)

clean:
	rm -rf build build-asan build-fuzz
