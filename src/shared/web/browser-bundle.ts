/**
 * A page's script bundled from its TypeScript source by esbuild when its node starts (the statistics
 * chart of the core's console, the portal's check of page A): no built file in the repository, so no
 * stale copy of what the tests run.
 *
 * esbuild builds in a service process of its own, which its Node API keeps alive after a build for
 * the next one: every core and portal process had an esbuild child beside it for good (some 24 MB, a
 * process the supervisor does not know of). Once no bundle is being made here, the service is
 * stopped; a later bundle starts another. The count of bundles in flight is the one piece of module
 * state: esbuild's service is itself one per process, so that is where its use is counted.
 */
import { build, stop } from 'esbuild';

let inFlight = 0;

export async function bundleForBrowser(entry: string, options: { minify?: boolean } = {}): Promise<string> {
  inFlight++;
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: options.minify ?? false,
      write: false,
      logLevel: 'silent',
      legalComments: 'none',
    });
    const [file] = result.outputFiles;
    if (!file) throw new Error('esbuild produced no bundle');
    return file.text;
  } finally {
    if (--inFlight === 0) await stop();
  }
}
