/**
 * The statistics page's chart script, bundled from its TypeScript source with Chart.js when the
 * console is mounted (src/shared/web/browser-bundle.ts), as the portal bundles its verifier.
 * Tree-shaken to the bar chart's parts.
 */
import { join } from 'node:path';
import { bundleForBrowser } from '../../../shared/web/browser-bundle.ts';

export function bundleStatisticsChart(): Promise<string> {
  return bundleForBrowser(join(import.meta.dirname, 'statistics-chart.ts'), { minify: true });
}
