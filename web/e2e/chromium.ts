import { execFileSync } from 'node:child_process'

/** Debian's chromium (PLAYWRIGHT_CHROMIUM overrides); tests never download a browser. */
export function chromiumPath(): string {
  const configured = process.env.PLAYWRIGHT_CHROMIUM
  if (configured) return configured
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error('e2e tests need Debian\'s chromium on the PATH: apt-get install -y chromium (or set PLAYWRIGHT_CHROMIUM)')
  }
}
