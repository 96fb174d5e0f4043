// End-to-end tests in Debian's Chromium (never a downloaded browser). global-setup.ts starts the
// real backend and the built IDE on free loopback ports and stops both afterwards.
import { defineConfig } from '@playwright/test'
import { chromiumPath } from './e2e/chromium'
import { OUTPUT_DIR } from './e2e/paths'

export default defineConfig({
  testDir: './e2e',
  testMatch: /.*\.spec\.ts$/,
  globalSetup: './e2e/global-setup.ts',
  outputDir: `${OUTPUT_DIR}/playwright`,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1360, height: 820 },
    launchOptions: {
      executablePath: chromiumPath(),
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
    screenshot: 'only-on-failure',
    trace: 'off',
  },
})
