import type { Command } from 'commander';
import {
  STATISTICS_BREAKDOWNS,
  StatisticsQuery,
  type Statistics,
  type StatisticsBreakdown,
} from '../protocol/admin.ts';
import { adminApi } from '../protocol/routes.ts';
import { statisticsCsv } from '../protocol/statistics-csv.ts';
import { parseInput } from '../shared/http.ts';
import { connectNode, nodeUrlOption } from './nodes.ts';
import { table, type GlobalOptions } from './output.ts';

/** The first column's heading for each breakdown. */
const KEY_HEADING: Record<StatisticsBreakdown, string> = {
  week: 'week (Mon, JST)',
  procedure: 'procedure',
  item: 'item',
  clause: 'clause',
  'requester-kind': 'requester kind',
  'provider-kind': 'provider kind',
};

/**
 * `renkei stats --core-url <url> [--from <day>] [--to <day>] [--by <breakdown>] [--csv]` (the network
 * operator, role `operator:audit`): the core's statistics (`GET /admin/v1/statistics`) as a table,
 * provisions (提供件数) apart from not-held answers, refusals and failures; `--csv` prints the CSV the
 * core's endpoint answers (same columns, UTF-8 with a byte-order mark), for a spreadsheet.
 *
 * Errors: ERR_VALIDATION (a bad URL, day or breakdown; the core's own refusal has the same wording),
 * ERR_CALLER_NOT_ALLOWED (a credential without the audit role), ERR_UPSTREAM_UNAVAILABLE.
 */
export function registerStatsCommand(program: Command): void {
  program
    .command('stats')
    .description('the provisions per week, procedure, item, clause or institution kind, from the core')
    .requiredOption('--core-url <url>', "the core's base URL, e.g. http://127.0.0.1:7100")
    .option('--from <day>', 'first day counted (JST, YYYY-MM-DD)')
    .option('--to <day>', 'last day counted (JST, YYYY-MM-DD, inclusive)')
    .option('--by <breakdown>', STATISTICS_BREAKDOWNS.join(' | '), 'week')
    .option('--csv', 'print CSV (UTF-8 with BOM) instead of a table')
    .action(async (options: { coreUrl: string; from?: string; to?: string; by: string; csv?: boolean }) => {
      const coreUrl = nodeUrlOption(options.coreUrl, 'core');
      const query = parseInput(
        StatisticsQuery,
        {
          by: options.by,
          ...(options.from === undefined ? {} : { from: options.from }),
          ...(options.to === undefined ? {} : { to: options.to }),
        },
        'statistics query (--from, --to, --by)',
      );
      const core = await connectNode(coreUrl, 'core', adminApi, {
        dataDir: program.opts<GlobalOptions>().dataDir,
        timeoutMs: 120_000,
      });
      const statistics = await core.getStatistics({
        query: {
          ...(query.from === undefined ? {} : { from: query.from }),
          ...(query.to === undefined ? {} : { to: query.to }),
          by: (query.by ?? []).join(','),
        },
      });
      process.stdout.write(options.csv ? statisticsCsv(statistics) : formatStatistics(statistics));
    });
}

/** The statistics as a person reads them: the period, the totals by outcome, each breakdown's table. */
export function formatStatistics(statistics: Statistics): string {
  const { from, to } = statistics.period;
  const o = statistics.byOutcome;
  const parts = [
    `Statistics of the network, ${from ?? 'the first record'} to ${to ?? 'today'} (JST days, inclusive)`,
    table(
      ['provisions (提供件数)', 'not held', 'refused', 'failed', 'pending', 'inquiries'],
      [[o.provided ?? 0, o.not_held ?? 0, o.refused ?? 0, o.failed ?? 0, o.pending ?? 0, statistics.total]],
    ),
  ];
  for (const { by, rows } of statistics.breakdowns) {
    parts.push(
      table(
        [KEY_HEADING[by], 'name', 'provisions', 'not held', 'refused', 'failed', 'pending', 'inquiries'],
        rows.map((r) => [
          r.key,
          r.name ?? '',
          r.provisions,
          r.notHeld,
          r.refused,
          r.failed,
          r.pending,
          r.total,
        ]),
      ),
    );
  }
  return `${parts.join('\n\n')}\n`;
}
