import { join } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { LegalTable } from '../domain/legal-table/types.ts';
import type { Statistics, StatisticsRow } from '../protocol/admin.ts';
import { launchNetwork } from '../network/launch.ts';
import { planProcedureInquiries, type ProcedurePlan } from '../network/procedure-plan.ts';
import type { Scenario } from '../network/scenarios.ts';
import { seedWorld } from '../network/seed.ts';
import { DEMO_WORLD } from '../network/world.ts';
import { RenkeiError } from '../shared/errors.ts';
import { plural, table } from './output.ts';
import { SEED_STATISTICS, type SeedProcedureRow } from './seed-statistics.ts';

/** How many exchanges of one procedure the load makes. */
export interface SeedLoadShare {
  scenario: Scenario;
  count: number;
}

export interface SeedLoad {
  shares: SeedLoadShare[];
  /** Exchanges planned per clause: what the statistics by clause must show. */
  byClause: Map<string, number>;
  /** Seed rows that `legal/` cannot run, with why: listed, never stood in for. */
  skipped: { row: SeedProcedureRow; reason: string }[];
  /** Clauses that share the seed's unnamed remainder (its procedures beyond the top five). */
  otherClauses: string[];
}

/**
 * The seed's proportions over n exchanges: each named row's share on its clause; the remainder of
 * the seed's total (the procedures it does not name) spread evenly over the other runnable clauses,
 * so that 割合 means the same on both sides and the item table sees the other procedures' items.
 * Within a clause, evenly over its runnable procedures. Whole numbers by largest remainder (ties to
 * the plan's order), so the counts are exact and the test can compare them: a random draw was
 * rejected because a few hundred exchanges would blur a ranking the seed itself sets.
 */
export function planSeedLoad(plan: ProcedurePlan, n: number): SeedLoad {
  const byClauseScenarios = new Map<string, Scenario[]>();
  for (const scenario of plan.scenarios) {
    const list = byClauseScenarios.get(scenario.clauseNo) ?? [];
    list.push(scenario);
    byClauseScenarios.set(scenario.clauseNo, list);
  }
  const clauseWeight = new Map<string, number>();
  const skipped: SeedLoad['skipped'] = [];
  let named = 0;
  for (const row of SEED_STATISTICS.procedures) {
    named += row.count;
    if (!byClauseScenarios.has(row.clauseNo)) {
      skipped.push({
        row,
        reason: `legal/ has no procedure of clause ${row.clauseNo} that the demo world can run`,
      });
      continue;
    }
    clauseWeight.set(row.clauseNo, (clauseWeight.get(row.clauseNo) ?? 0) + row.count);
  }
  const otherClauses = [...byClauseScenarios.keys()].filter((c) => !clauseWeight.has(c));
  const remainder = SEED_STATISTICS.totalProvisions - named;
  for (const clause of otherClauses) clauseWeight.set(clause, remainder / otherClauses.length);

  // Clause first, then its procedures: apportioning procedures directly would let a clause's
  // fractions fall to others (clause 35's 160.2 over three procedures rounded to 159).
  const clauses = [...byClauseScenarios.keys()];
  const clauseCounts = apportion(
    clauses.map((c) => clauseWeight.get(c) ?? 0),
    n,
  );
  const countOf = new Map<Scenario, number>();
  clauses.forEach((clause, i) => {
    const scenarios = byClauseScenarios.get(clause) ?? [];
    const split = apportion(
      scenarios.map(() => 1),
      clauseCounts[i] ?? 0,
    );
    scenarios.forEach((scenario, k) => countOf.set(scenario, split[k] ?? 0));
  });
  const shares = plan.scenarios
    .map((scenario) => ({ scenario, count: countOf.get(scenario) ?? 0 }))
    .filter((s) => s.count > 0);
  const byClause = new Map<string, number>();
  for (const { scenario, count } of shares)
    byClause.set(scenario.clauseNo, (byClause.get(scenario.clauseNo) ?? 0) + count);
  return { shares, byClause, skipped, otherClauses };
}

/** n split in proportion to the weights, in whole numbers by largest remainder (ties to the first). */
function apportion(weights: number[], n: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (n * w) / sum);
  const counts = exact.map(Math.floor);
  let left = n - counts.reduce((a, b) => a + b, 0);
  const byFraction = exact
    .map((x, i) => ({ i, fraction: x - Math.floor(x) }))
    .sort((a, b) => b.fraction - a.fraction || a.i - b.i);
  for (const { i } of byFraction) {
    if (left-- <= 0) break;
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}

/**
 * `renkei bench --statistics <n>`: a fresh demo network in this process (core, J-LIS, the demo
 * institutions, secured), n exchanges in the seed's proportions, then the core's statistics by
 * clause and by item in the seed's two tables, beside the seed's own figures scaled to n.
 */
export async function benchStatistics(args: {
  dir: string;
  legalTable: LegalTable;
  n: number;
  concurrency: number;
}): Promise<void> {
  const { dir, legalTable, n, concurrency } = args;
  const plan = planProcedureInquiries(legalTable, DEMO_WORLD);
  const load = planSeedLoad(plan, n);
  console.error('statistics: starting the demo network in this process…');
  const network = await launchNetwork({
    dataDir: join(dir, 'statistics'),
    legalTable,
    institutions: DEMO_WORLD.institutions,
    basePort: 0,
  });
  try {
    console.error(`statistics: seeding ${plural(DEMO_WORLD.residents.length, 'resident')}…`);
    const world = await seedWorld(network, DEMO_WORLD, legalTable);
    const exchange = async (scenario: Scenario): Promise<string> => {
      const requester = network.institution(scenario.requesterId);
      try {
        const reply = await requester.inquire({
          body: {
            addresseeNumber: world.addresseeNumber(scenario.residents[0] ?? '', scenario.requesterId),
            providerId: scenario.providerId,
            clauseNo: scenario.clauseNo,
            procedureId: scenario.procedureId,
            itemNos: scenario.itemNos,
            waitMs: 30_000,
          },
        });
        if ('outcome' in reply && reply.status === 'answered') return reply.outcome;
        const status = await requester.getInquiry({
          params: { processingNumber: reply.processingNumber },
          query: { waitMs: 30_000 },
        });
        return status.outcome;
      } catch (error) {
        // Counted and printed beside the tables: a refusal here means the plan and legal/ disagree.
        return error instanceof RenkeiError ? error.code : 'error';
      }
    };
    // Interleaved, each procedure's exchanges spread over the run (by the fraction of its own count
    // done), so that a run stopped half way has the same shape as a finished one.
    const jobs = load.shares
      .flatMap(({ scenario, count }) =>
        Array.from({ length: count }, (_, k) => ({ scenario, at: (k + 0.5) / count })),
      )
      .sort((a, b) => a.at - b.at);
    const outcomes = new Map<string, number>();
    const bar = new SingleBar(
      { format: 'statistics [{bar}] {value}/{total} exchanges {eta}s left', stream: process.stderr },
      Presets.shades_classic,
    );
    bar.start(jobs.length, 0);
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        if (!job) break;
        const outcome = await exchange(job.scenario);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        bar.increment();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
    bar.stop();

    const statistics = await network.admin().getStatistics({ query: { by: 'clause,item' } });
    console.log(formatSeedComparison(statistics, load, n, outcomes));
  } finally {
    await network.close();
  }
}

const percent = (part: number, whole: number) =>
  whole === 0 ? '—' : `${((100 * part) / whole).toFixed(1)}%`;
const NAME_WIDTH = 30;
const short = (name: string) => (name.length > NAME_WIDTH ? `${name.slice(0, NAME_WIDTH - 1)}…` : name);

/** Provisions first, most first; ties in the clause's or item's numeric order (as the API lists them). */
function ranked(rows: StatisticsRow[]): StatisticsRow[] {
  return rows
    .filter((row) => row.provisions > 0)
    .toSorted((a, b) => b.provisions - a.provisions || Number(a.key) - Number(b.key));
}

/**
 * The seed's two tables from the core's statistics (provisions only), each generated row beside the
 * seed's row(s) for the same clause or item, the seed's counts scaled to n. 割合 on both sides is of
 * all provisions (the seed's 63,645,570; the run's provisions).
 */
export function formatSeedComparison(
  statistics: Statistics,
  load: SeedLoad,
  n: number,
  outcomes: Map<string, number>,
): string {
  const seed = SEED_STATISTICS;
  const scaled = (count: number) => Math.round((count * n) / seed.totalProvisions);
  const rowsOf = (by: string) => statistics.breakdowns.find((b) => b.by === by)?.rows ?? [];
  const skippedNos = new Set(load.skipped.map((s) => s.row.no));
  const parts = [
    `Seed 000's tables reproduced from ${plural(n, 'exchange')} on the demo network, in the seed's proportions (${seed.source}).`,
    `Outcomes: ${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ')}; provisions counted by the core: ${statistics.provisions}.`,
    '',
    '情報照会している主な事務手続及び件数 (by clause of 別表第二; 資料: the seed, scaled to this run)',
  ];
  const procedureRows = ranked(rowsOf('clause')).map((row, i) => {
    const mine = seed.procedures.filter((p) => p.clauseNo === row.key && !skippedNos.has(p.no));
    const count = mine.reduce((sum, p) => sum + p.count, 0);
    return [
      i + 1,
      `${short(row.name ?? '')}［${row.key}の項］`,
      row.provisions,
      percent(row.provisions, statistics.provisions),
      mine.length === 0 ? '—' : mine.map((p) => p.no).join('・'),
      mine.length === 0 ? '—' : mine.map((p) => p.name).join('／'),
      mine.length === 0 ? '—' : scaled(count),
      mine.length === 0 ? '—' : percent(count, seed.totalProvisions),
    ];
  });
  parts.push(
    table(
      ['No', '手続名［別表第二］', '件数', '割合', '資料 No', '資料の手続名', '資料の件数', '資料の割合'],
      procedureRows,
    ),
  );
  const named = seed.procedures.reduce((sum, p) => sum + p.count, 0);
  parts.push(
    `資料 —: the seed names only its top five; the rest of its provisions (${percent(seed.totalProvisions - named, seed.totalProvisions)}) is spread evenly over the ${plural(load.otherClauses.length, 'other runnable clause')} of legal/.`,
    "legal/ has one clause (35) for pensions under 国民年金法 and 厚生年金保険法: the seed's rows 1 and 2 are generated and counted together.",
  );
  for (const { row, reason } of load.skipped)
    parts.push(`Skipped: 資料 No ${row.no} ${row.name} (${row.count}件): ${reason}.`);

  parts.push('', '情報提供されている主な特定個人情報及び件数 (資料: the seed, scaled to this run)');
  const itemRows: (string | number)[][] = ranked(rowsOf('item')).map((row, i) => {
    const mine = seed.items.find((s) => String(s.itemNo) === row.key);
    return [
      i + 1,
      `${row.name ?? ''}［${row.key}］`,
      row.provisions,
      percent(row.provisions, statistics.provisions),
      mine?.no ?? '—',
      mine ? scaled(mine.count) : '—',
      mine ? percent(mine.count, seed.totalProvisions) : '—',
    ];
  });
  const shown = new Set(ranked(rowsOf('item')).map((row) => row.key));
  for (const item of seed.items.filter((s) => !shown.has(String(s.itemNo))))
    itemRows.push([
      '—',
      `${item.name}［${item.itemNo}］`,
      0,
      percent(0, statistics.provisions),
      item.no,
      scaled(item.count),
      percent(item.count, seed.totalProvisions),
    ]);
  parts.push(
    table(['No', '特定個人情報［番号］', '件数', '割合', '資料 No', '資料の件数', '資料の割合'], itemRows),
    "An exchange asking for several items counts once under each, so the items' shares add up to more than 100%. An item at 0 is one the seed counts that no procedure the load runs asks for.",
  );
  return `${parts.join('\n')}\n`;
}
