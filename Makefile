# Entry points. `make up` runs the whole system locally with demo data; `make test` runs all tests
# on a real PostgreSQL and a real Kafka broker (both started here if they are not running).
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := .venv/bin/python

.PHONY: install stack up down logs test unit lint typecheck check chart schemas bench chaos audit clean

install: .venv/.installed services/portal/assets/node_modules/.package-lock.json

.venv/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
	uv sync --frozen
	@touch $@

# the portal's htmx and the browser tests' axe-core, from the npm registry (not committed)
services/portal/assets/node_modules/.package-lock.json: services/portal/assets/package-lock.json
	npm ci --prefix services/portal/assets --no-audit --no-fund
	@touch $@

stack:
	deploy/local/stack.sh up

up: install stack
	deploy/local/services.sh start
	$(PY) deploy/local/demo.py
	$(PY) deploy/local/demo_placement.py
	@echo
	@echo "rehapro is running:"
	@echo "  intake     http://127.0.0.1:8001/docs"
	@echo "  casework   http://127.0.0.1:8002/docs"
	@echo "  placement  http://127.0.0.1:8003/docs"
	@echo "  reporting  http://127.0.0.1:8004/docs"
	@echo "  portal     http://127.0.0.1:8005/  (Entwicklungsanmeldung: Behörde + Rolle wählen, z. B."
	@echo "             Jobcenter Ennepe-Ruhr-Kreis + Fallmanagement = demo-case-manager-jc-en)"
	@echo "  tokens:    $(PY) -m shared.cli token --subject demo-case-manager-jc-en --role case-manager --agency jc-en"
	@echo "  logs:      make logs     stop: make down"

down:
	-deploy/local/services.sh stop
	deploy/local/stack.sh down

logs:
	deploy/local/services.sh logs

test: install stack
	$(PY) -m pytest -ra --durations=20

unit: install
	$(PY) -m pytest tests/unit -q

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: install
	.venv/bin/mypy

check: lint typecheck

# The Helm chart as CI checks it (helm lint, template per value set, kubeconform, checkov);
# helm, kubeconform and checkov are installed by .ci/run (go install / uv tool) when missing.
chart:
	deploy/helm/check.sh

# Throughput, latency, replay, memory and the stack's own limits on a fresh copy of the system
# (own databases and topics); figures to bench/results/latest.json. BENCH_ARGS=--help lists sizes.
bench: install stack
	$(PY) -m bench $(BENCH_ARGS)

# Fault injection on the real local stack under a steady mixed load (kill -9 of each service and
# the relay's leader, Kafka and PostgreSQL restarts, postmaster kill -9, duplicates, poison):
# a table, and figures per fault to chaos/results/latest.json. CHAOS_ARGS=--help lists options.
chaos: install stack
	$(PY) -m chaos $(CHAOS_ARGS)

# The auditor's verify on the local stack's four topics, the services' first keys pinned
# (docs/AUDIT.md). AUDIT_ARGS=--json for the report as JSON.
audit: install
	$(PY) -m shared.audit.cli pins --key-file '.local/audit/{service}.json' > .local/audit/pins.json
	$(PY) -m shared.audit.cli verify --bootstrap 127.0.0.1:$${KAFKA_PORT:-29092} --pins .local/audit/pins.json \
		--topic intake.events --topic casework.events --topic placement.events --topic reporting.events $(AUDIT_ARGS)

schemas: install
	$(PY) -m shared.cli schemas --out docs/schemas

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache
