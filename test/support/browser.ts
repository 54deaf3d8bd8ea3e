/**
 * Headless Chromium for end-to-end tests of the web dashboard: Debian's `chromium` driven by
 * playwright-core (no browser download). A missing browser fails the test with how to install it.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env['FLOWD_CHROMIUM'] ?? '/usr/bin/chromium';

// Without the background-networking flags Chromium keeps calling home, which in a closed
// network means retries and noise.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * The `skip` for a browser test: a missing Chromium skips it with one line on a developer's
 * machine, and fails it where the environment promises one (CI, FLOWD_REQUIRE_POSTGRES=1).
 */
export function browserSkip(): string | false {
  if (existsSync(CHROMIUM_PATH)) return false;
  if (process.env['CI'] === 'true' || process.env['FLOWD_REQUIRE_POSTGRES'] === '1') return false;
  return `Chromium not found at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (or set FLOWD_CHROMIUM); browser tests skipped`;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}, and the dashboard test needs a real browser: ` +
        "install Debian's with `apt-get install -y chromium` (or set FLOWD_CHROMIUM to another Chromium binary).",
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS });
}
