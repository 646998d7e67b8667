/**
 * The statistics page's chart script, bundled from its TypeScript source with Chart.js by esbuild when
 * the console is mounted, as the portal bundles its verifier (src/nodes/portal/web/exchanges-bundle.ts):
 * no built file in the repository, no stale copy. Tree-shaken to the bar chart's parts.
 */
import { join } from 'node:path';
import { build } from 'esbuild';

export async function bundleStatisticsChart(): Promise<string> {
  const result = await build({
    entryPoints: [join(import.meta.dirname, 'statistics-chart.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error('esbuild produced no bundle');
  return file.text;
}
