/**
 * Headless Chromium for the page tests: the system's browser (/usr/bin/chromium,
 * or $CHROMIUM; .ci/run installs it from the distribution's packages), driven
 * by playwright-core. Every launch gets a fresh profile (playwright makes a
 * new temporary user-data-dir) and no background network.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export interface Opened {
  page: Page;
  /** Console errors and warnings, uncaught exceptions. */
  errors: string[];
  /** Every request other than the page itself. */
  requests: string[];
}

/** Open a local file at 1280×800, recording console errors and every other request. */
export async function openFile(browser: Browser, file: string): Promise<Opened> {
  const url = pathToFileURL(file).href;
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors, requests };
}
