/**
 * `renkei bench --statistics <n>` as an operator runs it (a child process through bin/renkei.js, the
 * demo network in it, real SQLite files, real HTTP): the tables it prints come from the core's
 * statistics, so their ranking and counts must be the load's, and the load must be the seed's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { planProcedureInquiries } from '../network/procedure-plan.ts';
import { DEMO_WORLD } from '../network/world.ts';
import { planSeedLoad } from './bench-statistics.ts';
import { renkei } from './test-support.ts';

const temp = mkdtempSync(join(tmpdir(), 'renkei-bench-statistics-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const N = 300;
const plan = planProcedureInquiries(loadLegalTable(), DEMO_WORLD);

/** The body rows of the printed table whose title line starts with `title`: [No, key, 件数]. */
function printedRows(stdout: string, title: string, key: RegExp): [string, string, number][] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((line) => line.startsWith(title));
  const end = lines.findIndex((line, i) => i > start && line.startsWith('└'));
  return lines
    .slice(start + 1, end)
    .filter((line) => line.startsWith('│') && !line.includes('件数'))
    .map((line) => {
      const cells = line.split('│').map((cell) => cell.trim());
      return [cells[1] ?? '', key.exec(cells[2] ?? '')?.[1] ?? '?', Number(cells[3])];
    });
}

/** Most first, ties in numeric order: the order the bench prints. */
const rankedKeys = (counts: Map<string, number>) =>
  [...counts]
    .filter(([, count]) => count > 0)
    .toSorted((a, b) => b[1] - a[1] || Number(a[0]) - Number(b[0]))
    .map(([key, count]) => [key, count] as const);

describe('renkei bench --statistics', () => {
  it("splits the load in the seed's proportions, the seed's top four clauses first, and lists a clause legal/ cannot run as skipped", () => {
    const load = planSeedLoad(plan, N);
    expect([...load.byClause.values()].reduce((a, b) => a + b, 0)).toBe(N);
    expect(rankedKeys(load.byClause).slice(0, 4)).toEqual([
      ['35', 161],
      ['113', 27],
      ['121', 24],
      ['28', 15],
    ]);
    expect(load.skipped).toEqual([]);

    const without113 = planSeedLoad(
      { ...plan, scenarios: plan.scenarios.filter((s) => s.clauseNo !== '113') },
      N,
    );
    expect(without113.skipped.map((s) => s.row.name)).toEqual(['高等学校等就学支援金支給関係手続']);
    expect(without113.byClause.has('113')).toBe(false);
    expect([...without113.byClause.values()].reduce((a, b) => a + b, 0)).toBe(N);
  });

  it('prints, from the core, the procedures and items ranked as the generated load makes them', async () => {
    const run = await renkei('--data-dir', temp, 'bench', '--statistics', String(N));
    expect(run.stderr).not.toMatch(/ERR_/);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`Outcomes: provided ${N}; provisions counted by the core: ${N}.`);

    const load = planSeedLoad(plan, N);
    const procedures = printedRows(run.stdout, '情報照会している主な事務手続', /［(\d+)の項］/);
    expect(procedures.map(([no, key, count]) => [no, key, count])).toEqual(
      rankedKeys(load.byClause).map(([key, count], i) => [String(i + 1), key, count]),
    );
    // The seed's figures beside them: its rows 1 and 2 together on clause 35.
    expect(run.stdout).toMatch(/［35の項］.*│ 1・2 .*│ 160 /);

    const byItem = new Map<string, number>();
    for (const { scenario, count } of load.shares)
      for (const itemNo of scenario.itemNos)
        byItem.set(String(itemNo), (byItem.get(String(itemNo)) ?? 0) + count);
    const items = printedRows(run.stdout, '情報提供されている主な特定個人情報', /［(\d+)］/);
    expect(items.filter(([no]) => no !== '—').map(([no, key, count]) => [no, key, count])).toEqual(
      rankedKeys(byItem).map(([key, count], i) => [String(i + 1), key, count]),
    );
    // An item the seed counts and no procedure of the load asks for is shown at 0, not left out.
    expect(items.find(([, key]) => key === '64')).toEqual(['—', '64', 0]);
  }, 120_000);
});
