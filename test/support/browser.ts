/**
 * The browser tests' chromium: Debian's package, driven by playwright-core (never a downloaded
 * browser). Where it is missing a file's tests are skipped, and the file says so once on the console
 * (`.ci/run` installs it, so CI always runs them). With RENKEI_SCREENSHOTS=<dir> the pages a test
 * shoots are saved there as PNG; otherwise in the test's own directory, checked and thrown away.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';

/** Whether chromium is here; when not, says which file's browser tests were skipped. */
export function chromiumFor(testFile: string): boolean {
  const present = existsSync(CHROMIUM);
  if (!present) {
    console.warn(
      `${basename(testFile)}: SKIPPED — ${CHROMIUM} is missing, so the browser tests did not run (apt-get install -y chromium).`,
    );
  }
  return present;
}

/** Headless chromium with the flags this machine needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** The Content Security Policy violations the page's console reports from now on (a test expects none). */
export function cspViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}

/** The directory RENKEI_SCREENSHOTS names (made), or undefined. */
export function screenshotDir(): string | undefined {
  const dir = process.env.RENKEI_SCREENSHOTS;
  if (dir) mkdirSync(dir, { recursive: true });
  return dir;
}

const SHOT_WIDTH = 1200;

/**
 * A full-page screenshot named `<name>.png`, in RENKEI_SCREENSHOTS or else in `fallbackDir()`; the
 * file must exist afterwards.
 */
export async function shootPage(page: Page, name: string, fallbackDir: () => string): Promise<void> {
  const path = join(screenshotDir() ?? fallbackDir(), `${name}.png`);
  // 1200 CSS pixels wide, as the READMEs show them, and as tall as the page's content: a viewport lower than the
  // page makes the full-page shot end where the page does (not at the viewport's foot). Restored afterwards.
  const size = page.viewportSize();
  await page.setViewportSize({ width: SHOT_WIDTH, height: 100 });
  await page.screenshot({ path, fullPage: true });
  if (size) await page.setViewportSize(size);
  expect(existsSync(path)).toBe(true);
}
