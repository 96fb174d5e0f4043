import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_ROOT = path.resolve(WEB_DIR, '..')
/** Screenshots and logs of the test run (git-ignored). */
export const OUTPUT_DIR = path.join(REPO_ROOT, 'test-output')
