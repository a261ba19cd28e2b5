# trawl: two commands on a fresh Debian machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
TRAWL := $(VENV)/bin/trawl
PYTEST_ARGS ?=
# Test processes (pytest-xdist). Most tests wait on real subprocesses, sockets, Chromium and the
# testbed's rate limits, so three workers keep two cores busy (measured on 2 idle cores: 2 workers
# 8m21s, 3 workers 6m59s, same 2,507 tests; on 2 Dec 2026, 3,262 tests with 3 workers: 3m16s-3m26s
# on a fast VM, 8m15s on one ~2.4x slower); files stay whole per worker (--dist loadfile).
TEST_WORKERS ?= 3
PYTEST := $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

.PHONY: setup system-deps demo test test-slow test-es test-all lint bench clean

# System packages the crawler and its tests use: Chromium (browser-rendered sites),
# redis-server (distributed mode), tor (control-port tests), strace (the browser leak
# detector), openssl (timestamp-authority tests). Installed with apt where we can;
# otherwise Playwright downloads its own Chromium and the tests needing the rest skip.
system-deps:
	@missing=""; \
	for pair in chromium:/usr/bin/chromium redis-server:/usr/bin/redis-server tor:/usr/sbin/tor \
	            strace:/usr/bin/strace openssl:/usr/bin/openssl; do \
	  pkg=$${pair%%:*}; bin=$${pair#*:}; [ -x "$$bin" ] || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages:$$missing"; \
	    (apt-get install -y -qq $$missing >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $$missing >/dev/null)) ; \
	  else \
	    echo "note: cannot apt-get install$$missing (not root or no apt); browser falls back to 'playwright install chromium'"; \
	  fi; \
	fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@[ -x /usr/bin/chromium ] || $(PY) -m playwright install chromium
	touch $@

setup: system-deps $(VENV)/.installed

demo: setup
	$(TRAWL) demo

test: setup
	$(PYTEST) $(PYTEST_ARGS)

test-slow: setup
	$(PYTEST) -m slow $(PYTEST_ARGS)

# Elasticsearch suite: needs a server, e.g. TRAWL_TEST_ES_URL=http://127.0.0.1:9200 make test-es
test-es: setup
	$(PYTEST) -m es $(PYTEST_ARGS)

# every marker at once except es (which needs a server)
test-all: setup
	$(PYTEST) -m 'not es' $(PYTEST_ARGS)

# zero findings expected; configuration in pyproject.toml ([tool.ruff], [tool.mypy])
lint: setup
	$(VENV)/bin/ruff check
	$(VENV)/bin/mypy

bench: setup
	$(PY) bench/parsers.py && $(PY) bench/match.py && $(PY) bench/index.py && $(PY) bench/crawl.py

clean:
	rm -rf $(VENV) trawl-data .pytest_cache
