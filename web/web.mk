# The IDE (web/): included by the top-level Makefile, so paths are relative to the repo root.
#   make web-install   npm install from the committed package-lock.json (again only when it changes)
#   make web-build     nuxt build -> web/.output (again only when a source file changes)
#   make web-serve     the production build on http://127.0.0.1:3000 (DEV=1: nuxt dev server)
#   make web-test      type check, unit tests (vitest), end-to-end tests (Playwright + Debian chromium)
#   make web-bench     the IDE benchmarks (web/bench/: click -> output visible, display frames drawn)
# WEB_PORT, WEB_HOST and NUXT_PUBLIC_BACKEND_URL override the defaults below.

WEB := web
WEB_STAMP := $(WEB)/node_modules/.pyplay-installed
WEB_SERVER := $(WEB)/.output/server/index.mjs
WEB_SOURCES := $(shell find $(WEB)/app $(WEB)/lib $(WEB)/public -type f 2>/dev/null) $(WEB)/nuxt.config.ts
WEB_PORT ?= 3000
WEB_HOST ?= 127.0.0.1
NUXT_PUBLIC_BACKEND_URL ?= ws://localhost:8000
DEV ?=

.PHONY: web-install web-build web-serve web-typecheck web-test web-bench

web-install: $(WEB_STAMP)

# `npm install` follows the lock file. Not `npm ci`: the registry this project is built against
# serves only some of rollup's per-platform packages, so the lock file lists only those and
# npm ci rejects it as out of sync. Playwright drives Debian's chromium; no browser download.
$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error
	@touch $@

web-build: $(WEB_SERVER)

$(WEB_SERVER): $(WEB_STAMP) $(WEB_SOURCES)
	cd $(WEB) && NUXT_TELEMETRY_DISABLED=1 npx --no-install nuxt build
	@touch $@

ifeq ($(DEV),1)
web-serve: web-install
	cd $(WEB) && NUXT_TELEMETRY_DISABLED=1 NUXT_PUBLIC_BACKEND_URL=$(NUXT_PUBLIC_BACKEND_URL) \
		exec npx --no-install nuxt dev --host $(WEB_HOST) --port $(WEB_PORT)
else
web-serve: web-build
	PORT=$(WEB_PORT) HOST=$(WEB_HOST) NUXT_PUBLIC_BACKEND_URL=$(NUXT_PUBLIC_BACKEND_URL) exec node $(WEB_SERVER)
endif

web-typecheck: web-build
	cd $(WEB) && npx --no-install tsc -p tsconfig.check.json && npx --no-install vue-tsc --noEmit -p .nuxt/tsconfig.app.json

# All three always run; the target fails if any does. The e2e tests start the backend
# (.venv/bin/python -m app) and the built IDE themselves, on free loopback ports.
web-test: web-build
	@status=0; \
	$(MAKE) --no-print-directory web-typecheck || status=1; \
	(cd $(WEB) && npx --no-install vitest run) || status=1; \
	(cd $(WEB) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npx --no-install playwright test) || status=1; \
	exit $$status

# Tables, not assertions: each bench starts its own backend and IDE (playwright.bench.config.ts).
web-bench: web-build
	cd $(WEB) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npx --no-install playwright test -c playwright.bench.config.ts
