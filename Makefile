# Smart Attendance: the two commands are `make dashboard` and `make test`.
# Everything else here is what they need: system packages, a virtual environment, the demo class.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Offline machines: copy the demo class from a folder instead of downloading it.
SAMPLES_MIRROR ?=
PORT ?= 8866
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: dashboard test setup setup-hub setup-test samples serve clean

# What the dashboard needs (no Chromium, PostgreSQL, slapd or npm); the hub adds its proxy (npm); the
# tests add their tools. Each set-up includes the ones before it.
setup: $(VENV)/.installed-dashboard
setup-hub: $(VENV)/.installed-hub
setup-test: $(VENV)/.installed-test
SETUP_FILES := pyproject.toml scripts/setup.sh scripts/requirements.py

$(VENV)/.installed-dashboard: $(SETUP_FILES)
	bash scripts/setup.sh "$(PYTHON)" "$(VENV)" dashboard
	touch $@

$(VENV)/.installed-hub: $(SETUP_FILES)
	bash scripts/setup.sh "$(PYTHON)" "$(VENV)" hub
	touch $@ $(VENV)/.installed-dashboard

$(VENV)/.installed-test: $(SETUP_FILES)
	bash scripts/setup.sh "$(PYTHON)" "$(VENV)" test
	touch $@ $(VENV)/.installed-hub $(VENV)/.installed-dashboard

samples: setup
	$(BIN)/attendance samples $(if $(SAMPLES_MIRROR),--mirror "$(SAMPLES_MIRROR)")

# This computer only (127.0.0.1, no login): `attendance serve` with its limits, e.g. the websocket message
# limit raised to a full upload (a phone photo travels to the kernel in one message; Tornado's default is 10 MB).
dashboard: samples
	$(BIN)/attendance roster
	@echo ""
	@echo "  Smart Attendance dashboard: open http://127.0.0.1:$(PORT)/ in your browser (Ctrl+C here stops it)."
	@echo ""
	$(BIN)/attendance serve --ip 127.0.0.1 --port $(PORT)

# A shared server: the dashboard behind a login (set one first: .venv/bin/attendance serve --set-password).
IP ?= 127.0.0.1
serve: setup
	$(BIN)/attendance roster
	$(BIN)/attendance serve --ip $(IP) --port $(PORT)

# Every test, the PostgreSQL ones on a throw-away server started (and stopped) for the run, as in CI.
# ATTENDANCE_POSTGRES=0 skips the PostgreSQL tests instead; PYTEST_ARGS picks a part (exit code 5, no test, fails).
test: setup-test samples
	bash scripts/run-tests.sh $(BIN)/python $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) attendance_data .pytest_cache
