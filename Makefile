# Two commands on a fresh machine: `make demo` and `make test`. `make setup` only installs.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The environment is rebuilt whenever the dependency specification changes.
DEPS_HASH := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(DEPS_HASH)
APT_PACKAGES := fluidsynth libfluidsynth3 ffmpeg fluidr3mono-gm-soundfont
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system-packages demo test lint bench clean

setup: system-packages $(STAMP)

system-packages:
	@if command -v fluidsynth >/dev/null && command -v ffmpeg >/dev/null \
	    && ldconfig -p | grep -q libfluidsynth && ls /usr/share/sounds/sf*/FluidR3Mono_GM.sf* >/dev/null 2>&1; then \
	  echo "system packages: present"; \
	else \
	  echo "installing Debian packages: $(APT_PACKAGES)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  ($(SUDO) apt-get update -qq || (sleep 5 && $(SUDO) apt-get update -qq)) && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored: it is neither" || true
	@# torch first, pinned, so that nothing else can pull a different build.
	set -o pipefail; $(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1 2>&1 | { grep -v "is ignored: it is neither" || true; }
	set -o pipefail; $(PY) -m pip install -q -e ".[dev]" 2>&1 | { grep -v "is ignored: it is neither" || true; }
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/vmm demo

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check vmm symbolic audio_render tests

bench: setup
	$(VENV)/bin/vmm bench all

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
