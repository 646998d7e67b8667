/**
 * The pages' scripts bundled at a node's start leave no esbuild service process behind, and bundles
 * made at once all succeed (the service is stopped only once none is in flight).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleForBrowser } from './browser-bundle.ts';

/** This process's children that are esbuild and not yet gone, from /proc (Linux). */
function esbuildChildren(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (
          Number(ppid) === process.pid &&
          state !== 'Z' &&
          readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'esbuild'
        );
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/** The esbuild children once those stopped have exited (a killed process takes a moment to go). */
async function esbuildLeft(): Promise<number[]> {
  for (let i = 0; i < 50 && esbuildChildren().length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return esbuildChildren();
}

const CHART = fileURLToPath(new URL('../../nodes/core/console/statistics-chart.ts', import.meta.url));
const CHECK = fileURLToPath(new URL('../../nodes/portal/web/exchanges-check.ts', import.meta.url));

describe.skipIf(process.platform !== 'linux')('bundleForBrowser', () => {
  it('bundles several scripts at once and leaves no esbuild process running', async () => {
    const [chart, check] = await Promise.all([
      bundleForBrowser(CHART, { minify: true }),
      bundleForBrowser(CHECK),
    ]);
    expect(chart.length).toBeGreaterThan(10_000);
    expect(check).toContain('src/trust/merkle/web-verify.ts');
    expect(await esbuildLeft()).toEqual([]);
    // A later bundle starts the service again, and stops it again.
    expect((await bundleForBrowser(CHECK)).length).toBe(check.length);
    expect(await esbuildLeft()).toEqual([]);
  });
});
