/**
 * The browser's check of page A, bundled from its TypeScript source (`exchanges-check.ts`, which
 * imports the verifier in src/trust/merkle/web-verify.ts) when the portal starts
 * (src/shared/web/browser-bundle.ts): the browser runs the same code the tests run, and no built file
 * is kept in the repository. We considered a build step writing `assets/exchanges.js`, but then a
 * checkout could serve a stale copy of the verifier; bundling takes tens of milliseconds once per start.
 */
import { join } from 'node:path';
import { bundleForBrowser } from '../../../shared/web/browser-bundle.ts';

export function bundleExchangesScript(): Promise<string> {
  return bundleForBrowser(join(import.meta.dirname, 'exchanges-check.ts'));
}
