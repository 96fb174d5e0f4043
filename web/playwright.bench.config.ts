// The IDE benchmarks (web/bench/*.bench.ts): Playwright in Debian's Chromium, like the e2e tests,
// but each bench starts its own backend and IDE and prints a table instead of asserting timings.
// `make web-bench` runs them; `make bench` does too (bench/bench_ide.py).
import { defineConfig } from '@playwright/test'
import base from './playwright.config'

export default defineConfig({
  ...base,
  testDir: './bench',
  testMatch: /.*\.bench\.ts$/,
  globalSetup: undefined,
  timeout: 600_000,
  use: { ...base.use, viewport: { width: 1366, height: 768 } },
})
