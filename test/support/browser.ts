// A real browser for the console's tests: Debian's chromium, headless, driven by playwright-core
// through its executable (nothing downloaded). Tests that need it skip, saying why, without it.

import fs from "node:fs";
import { chromium, type Browser } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export const CHROMIUM_PATH: string | undefined = CANDIDATES.find((file) => fs.existsSync(file));

export const CHROMIUM_MISSING_REASON =
  "chromium is not installed (apt-get install -y chromium); the console's browser tests are skipped";

/** Headless chromium; as root it runs without its sandbox (which needs an unprivileged user). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
}
