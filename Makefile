# The two commands of the README, and the tools behind them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Test processes: each takes whole test files (each file's tests on both databases), builds
# its own database of each kind once, and keeps them to the end of the run. Most tests wait
# on servers, browsers and databases rather than compute: twice the cores of a small machine
# keeps them busy (11 minutes against 20 with two, on two cores).
TEST_WORKERS ?= 4
STAMP := $(VENV)/.installed
# `make run PORT=8001`: the FHIR base follows the port unless MEDSVC_BASE_URL is set; the
# demo city's clinic hours and days are Shanghai's unless MEDSVC_TIMEZONE is set.
HOST ?= 127.0.0.1
PORT ?= 8000
run: export MEDSVC_BASE_URL ?= http://$(HOST):$(PORT)/fhir
run: export MEDSVC_TIMEZONE ?= Asia/Shanghai
# No SMS gateway in a local trial: sign-up codes are written to the log.
run: export MEDSVC_PHONE_CODES_TO_LOG ?= true

.PHONY: run test chromium wrk screenshots lint messages demo bench bench-booking bench-results bench-subscriptions bench-checks bench-idle bench-release-hook bench-app clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "medsvc needs Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/medsvc demo load
	$(BIN)/medsvc serve --host $(HOST) --port $(PORT)

test: $(STAMP) chromium
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# The app's browser tests drive Debian's Chromium through Playwright (which downloads no
# browser); the Chinese pages need a CJK font to be drawn and pictured.
chromium:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || { \
		apt-get update -q || true; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			chromium fonts-noto-cjk; }

# Phone-sized pictures of the app's pages in both languages, taken by its browser tests.
screenshots: $(STAMP) chromium
	MEDSVC_TEST_BACKENDS=sqlite MEDSVC_SCREENSHOTS=docs/screenshots \
		$(BIN)/pytest -p no:cacheprovider -n 0 tests/web/test_browser.py tests/web/test_browser_changes.py tests/web/test_browser_help.py tests/web/test_browser_proxies.py tests/identity/test_browser_signup.py tests/identity/test_browser_codes.py tests/identity/test_browser_proxy_child.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# The translation catalogues: new and changed messages merged into both languages' .po files
# for translating. The app's (domain "messages") come from its templates and views (babel.cfg;
# tests/web/test_i18n.py checks them); the notices' to citizens (domain "notices") from the
# Python of src/medsvc/notify (tests/notify/test_texts.py checks them).
CATALOGUES := src/medsvc/web/locale
NOTICES := src/medsvc/notify/locale
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --omit-header --sort-output \
		-o $(CATALOGUES)/messages.pot .
	$(BIN)/pybabel update -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) \
		--no-fuzzy-matching --ignore-obsolete --width 100
	$(BIN)/pybabel extract --no-location --omit-header --sort-output \
		-o $(NOTICES)/notices.pot src/medsvc/notify
	$(BIN)/pybabel update -D notices -i $(NOTICES)/notices.pot -d $(NOTICES) \
		--no-fuzzy-matching --ignore-obsolete --width 100

# The HTTP benchmarks drive the server with wrk, from Debian's packages.
wrk:
	@command -v wrk >/dev/null || { \
		apt-get update -q || true; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk; }

bench: $(STAMP) wrk
	$(BIN)/python bench/http_bench.py

bench-booking: $(STAMP) wrk
	$(BIN)/python bench/booking_bench.py

bench-results: $(STAMP) wrk
	$(BIN)/python bench/results_bench.py

bench-subscriptions: $(STAMP)
	$(BIN)/python bench/subscriptions_bench.py

bench-checks: $(STAMP)
	$(BIN)/python bench/checks_bench.py

bench-idle: $(STAMP)
	$(BIN)/python bench/idle_jobs_bench.py

bench-release-hook: $(STAMP)
	$(BIN)/python bench/release_hook_bench.py

# The app's pages beside the FHIR calls they make; py-spy profiles each page after the rounds.
bench-app: $(STAMP) wrk
	$(BIN)/pip install --quiet py-spy
	$(BIN)/python bench/app_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
