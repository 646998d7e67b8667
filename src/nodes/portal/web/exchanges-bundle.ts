/**
 * The browser's check of page A, bundled from its TypeScript source (`exchanges-check.ts`, which
 * imports the verifier in src/trust/merkle/web-verify.ts) by esbuild when the portal starts: the
 * browser runs the same code the tests run, and no built file is kept in the repository. We considered
 * a build step writing `assets/exchanges.js`, but then a checkout could serve a stale copy of the
 * verifier; bundling takes tens of milliseconds once per start.
 */
import { join } from 'node:path';
import { build } from 'esbuild';

export async function bundleExchangesScript(): Promise<string> {
  const result = await build({
    entryPoints: [join(import.meta.dirname, 'exchanges-check.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error('esbuild produced no bundle');
  return file.text;
}
