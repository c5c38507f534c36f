# MicroPython at EL2: the entry points.
#
#   make run        build the firmware and boot it in QEMU with the REPL here
#                   (BOARD=RPI4 SD=card.img: that image in the SD slot, mounted at /sd)
#                   (QEMU virt: /flash kept in build/flash-QEMU_VIRT.img; FRESH=1 empties it)
#   make test       every test (host unit tests, on-target tests, MicroPython's own suite);
#                   PORT=/dev/ttyUSB0 runs the on-target ones on that board instead of QEMU
#   make firmware   build/$(BOARD)/firmware.elf (BOARD=QEMU_VIRT or RPI4)
#   make guests     build/guests/testguest.{elf,bin}: the VM's test guest (guests/testguest/)
#   make linux      Debian's Linux booted by the firmware in QEMU, its shell here (LINUX_CPUS=2)
#   make linux-assets  build/linux/{Image,initramfs.cpio.gz}: Debian's kernel and our BusyBox initramfs
#   make bench      benchmarks, written to build/bench.json
#   make debug      QEMU stopped at the entry point, gdb-multiarch attached
#   make clean      remove build outputs (keeps the downloaded MicroPython source)
#
# Every target does its own set-up: Debian packages, the MicroPython source,
# the Python virtual environment. Nothing is downloaded or rebuilt twice.

BOARD ?= QEMU_VIRT
SMP ?= 4
# How QEMU runs each BOARD lives in port/boards/$(BOARD)/mpconfigboard.mk
# (QEMU_MACHINE, QEMU_ARGS, ...), read by host_tools/boards.py.
MICROPY_VERSION = 1.25.0

# This repository. Not TOP: MicroPython's py/mkenv.mk defines TOP as the
# MicroPython tree, and port/Makefile, which includes it, relies on that.
PROJECT_TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD_ROOT := $(PROJECT_TOP)/build
DEPS := $(BUILD_ROOT)/deps
STAMPS := $(BUILD_ROOT)/stamps
VENV := $(PROJECT_TOP)/.venv
PYTHON := $(VENV)/bin/python

# MICROPY_TOP=/path/to/micropython uses your own checkout instead of the cached Debian source.
ifdef MICROPY_TOP
MICROPY_TOP := $(abspath $(MICROPY_TOP))
MICROPY_STAMP :=
else
MICROPY_TOP := $(DEPS)/micropython-$(MICROPY_VERSION)
MICROPY_STAMP := $(MICROPY_TOP)/.complete
endif

# Mbed TLS (hashlib's SHA-1 and MD5, cryptolib's AES): Debian's source, unmodified.
MBEDTLS_TOP := $(DEPS)/mbedtls-3.6.6
MBEDTLS_STAMP := $(MBEDTLS_TOP)/.complete
# musl's exp() (lib/libm_dbl's is 1 ulp off at exp(1.0)): Debian's source, unmodified.
MUSL_TOP := $(DEPS)/musl-1.2.5
MUSL_STAMP := $(MUSL_TOP)/.complete

FIRMWARE := $(BUILD_ROOT)/$(BOARD)/firmware.elf

SHELL := /bin/bash
export BUILD_VERBOSE ?= 0

.PHONY: all run test firmware firmware-all guests linux linux-assets sdcard bench debug clean setup packages venv micropython FORCE
.DEFAULT_GOAL := run

all: firmware

# ---------------------------------------------------------------------------
# Set-up

packages: $(STAMPS)/packages
$(STAMPS)/packages: $(PROJECT_TOP)/tools/setup-debian.sh
	@bash $(PROJECT_TOP)/tools/setup-debian.sh
	@mkdir -p $(dir $@) && touch $@

# make bench only: the Arm bare-metal toolchain for upstream's ports/qemu.
$(STAMPS)/bench-packages: $(PROJECT_TOP)/tools/setup-debian.sh | $(STAMPS)/packages
	@bash $(PROJECT_TOP)/tools/setup-debian.sh --bench
	@mkdir -p $(dir $@) && touch $@

micropython: $(MICROPY_STAMP) | $(STAMPS)/packages
ifdef MICROPY_STAMP
$(MICROPY_STAMP): $(PROJECT_TOP)/tools/fetch-micropython.sh | $(STAMPS)/packages
	@bash $(PROJECT_TOP)/tools/fetch-micropython.sh $(MICROPY_TOP)
else
	@test -f $(MICROPY_TOP)/py/mkrules.mk || { echo "error: MICROPY_TOP=$(MICROPY_TOP) is not a MicroPython source tree (no py/mkrules.mk)" >&2; exit 1; }
endif

venv: $(VENV)/.installed
# pyproject.toml's ranges, pinned to constraints.txt's versions (pytest and
# pytest-timeout with them: the [test] extra).
$(VENV)/.installed: $(PROJECT_TOP)/pyproject.toml $(PROJECT_TOP)/constraints.txt $(PROJECT_TOP)/setup.py | $(STAMPS)/packages
	@echo "==> Python virtual environment in .venv (pyproject.toml, constraints.txt)"
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	@mkdir -p $(BUILD_ROOT)
	@$(PYTHON) -m pip install -q --disable-pip-version-check -c '$(PROJECT_TOP)/constraints.txt' \
		-e '$(PROJECT_TOP)[test]' >$(BUILD_ROOT)/pip.log 2>&1 \
		|| { tail -n 20 $(BUILD_ROOT)/pip.log >&2; echo "error: pip install failed (see build/pip.log)" >&2; exit 1; }
	@touch $@

$(MBEDTLS_STAMP): $(PROJECT_TOP)/tools/fetch-mbedtls.sh | $(STAMPS)/packages
	@bash $(PROJECT_TOP)/tools/fetch-mbedtls.sh $(MBEDTLS_TOP)

$(MUSL_STAMP): $(PROJECT_TOP)/tools/fetch-musl.sh | $(STAMPS)/packages
	@bash $(PROJECT_TOP)/tools/fetch-musl.sh $(MUSL_TOP)

setup: packages micropython venv $(MBEDTLS_STAMP) $(MUSL_STAMP)

# ---------------------------------------------------------------------------
# Build

firmware: $(MICROPY_STAMP) $(MBEDTLS_STAMP) $(MUSL_STAMP) | $(STAMPS)/packages
	@test -f $(MICROPY_TOP)/py/mkrules.mk || { echo "error: no MicroPython source at $(MICROPY_TOP): run 'make setup' or set MICROPY_TOP=/path" >&2; exit 1; }
	@set -o pipefail; $(MAKE) --no-print-directory -C $(PROJECT_TOP)/port BOARD=$(BOARD) MICROPY_TOP=$(MICROPY_TOP) \
		MBEDTLS_TOP=$(MBEDTLS_TOP) MUSL_TOP=$(MUSL_TOP) \
		BUILD=$(BUILD_ROOT)/$(BOARD) -j$(shell nproc) all 2>&1 | { grep -Ev '^makeversionhdr.py: Warning: No git|root_pointers.collected$$|registrations not updated$$' || true; }

# The guests the VM's tests boot, built from source with the same cross compiler.
CROSS_COMPILE ?= aarch64-linux-gnu-
GUESTS_BUILD := $(BUILD_ROOT)/guests

guests: | $(STAMPS)/packages
	@$(MAKE) --no-print-directory -C $(PROJECT_TOP)/guests/testguest BUILD=$(GUESTS_BUILD) \
		CROSS_COMPILE=$(CROSS_COMPILE) $(if $(filter 1,$(BUILD_VERBOSE)),,-s)

# The Linux guest: Debian bookworm's linux-image-arm64 (its uncompressed Image,
# unmodified) and an initramfs of ours around busybox-static, both fetched by
# package name through apt once into build/deps/linux (host_tools/linux.py).
LINUX_BUILD := $(BUILD_ROOT)/linux

# Debian's kernel under the firmware in QEMU, its BusyBox shell on this terminal
# (`poweroff` ends it; Ctrl-] pauses the guest and ends). LINUX_CPUS=1..3.
LINUX_CPUS ?= 2
QEMU_URL_QEMU_VIRT := qemu:virt
QEMU_URL_RPI4 := qemu:raspi4b
linux: firmware linux-assets venv
	@exec $(PYTHON) -m host_tools -p $(QEMU_URL_$(BOARD)) guest linux --cpus $(LINUX_CPUS)

linux-assets: venv
	@$(PYTHON) -m host_tools.linux assets --out $(LINUX_BUILD) >/dev/null

# ---------------------------------------------------------------------------
# Run

ELF := $(BUILD_ROOT)/$(BOARD)/firmware.elf
# /flash on QEMU virt lives in build/flash-QEMU_VIRT.img (made on first use,
# kept by make clean); FRESH=1 starts with an empty one.
FLASH_ARGS_QEMU_VIRT := --flash $(BUILD_ROOT)/flash-QEMU_VIRT.img $(if $(filter 1,$(FRESH)),--fresh)
BOOT := $(PYTHON) -m host_tools boot --board $(BOARD) --smp $(SMP) $(if $(SD),--sd $(SD)) $(FLASH_ARGS_$(BOARD))

run: firmware venv
	@if [ -t 0 ]; then \
		echo "==> booting $(BOARD) in QEMU: the REPL is below; Ctrl-A x quits QEMU, Ctrl-A c is its monitor"; \
		exec $(BOOT) --attach --print-command; \
	else \
		exec $(PYTHON) -m host_tools pipe --board $(BOARD) --smp $(SMP) $(FLASH_ARGS_$(BOARD)) --print-command; \
	fi

# QEMU stopped at the entry point with its gdbstub on :1234, gdb-multiarch
# attached with the firmware's symbols. The UART is on the pty printed first.
GDB_PORT ?= 1234
debug: firmware venv
	@$(BOOT) --gdb --gdb-port $(GDB_PORT) & qemu=$$!; sleep 1; \
	gdb-multiarch -q $(ELF) -ex 'target remote :$(GDB_PORT)' $(GDB_ARGS); \
	kill $$qemu 2>/dev/null; wait $$qemu 2>/dev/null; true

# ---------------------------------------------------------------------------
# Test

BOARDS := QEMU_VIRT RPI4

# Every board's firmware (the on-target tests run on both) and the guests.
firmware-all: $(MICROPY_STAMP) $(MBEDTLS_STAMP) $(MUSL_STAMP) | $(STAMPS)/packages
	@for b in $(BOARDS); do $(MAKE) --no-print-directory firmware BOARD=$$b || exit 1; done
	@$(MAKE) --no-print-directory guests

# PORT=/dev/ttyUSB0: the on-target tests on that board instead of QEMU
# (tests that need QEMU are skipped, saying so).
test: firmware-all linux-assets venv
	@echo "==> pytest$(if $(PORT), on $(PORT))"
	@cd $(PROJECT_TOP) && $(PYTHON) -m pytest -q $(if $(PORT),--port '$(PORT)') tests; status=$$?; \
		if [ $$status -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$status

bench: firmware-all linux-assets venv $(STAMPS)/bench-packages
	@cd $(PROJECT_TOP) && $(PYTHON) -m host_tools.bench --out $(BUILD_ROOT)/bench.json

# The Raspberry Pi 4 boot card image: build/RPI4/sdcard.img. Boot files from
# RPI_FIRMWARE_DIR=/path if given, else from Debian's packages (downloaded once).
sdcard: venv
	@$(MAKE) --no-print-directory firmware BOARD=RPI4
	@$(PYTHON) -m host_tools sdcard build $(if $(RPI_FIRMWARE_DIR),--firmware-dir $(RPI_FIRMWARE_DIR))

clean:
	rm -rf $(BUILD_ROOT)/QEMU_VIRT $(BUILD_ROOT)/RPI4 $(BUILD_ROOT)/mpy-cross $(BUILD_ROOT)/guests $(BUILD_ROOT)/linux $(BUILD_ROOT)/bench.json
