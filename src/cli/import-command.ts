import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { nodeClient } from '../network/client.ts';
import { formatOfFile, parseCopies, type ImportFormat } from '../nodes/institution/import/parse-copies.ts';
import { MAX_IMPORT_BATCH, sendCopies } from '../nodes/institution/import/send-copies.ts';
import { RenkeiError } from '../shared/errors.ts';
import { table, wholeNumberOption } from './output.ts';

const SHOWN_PROBLEMS = 50;

/**
 * `renkei import --institution-url <url> --file <path>`: load copies (副本) from a business system's
 * CSV or JSON export into an institution's intermediate server. The whole file is parsed and checked
 * against the layouts in force today first; if any row is bad, every bad row is listed by row number
 * and nothing is sent (exit 1). Then copies go in batches of at most 5,000 through
 * `POST /business/v1/copies:batch`, each all-or-nothing, with a progress bar for large files.
 * File formats: see `src/nodes/institution/import/parse-copies.ts`.
 */
export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description("load copies (副本) from a business system's CSV or JSON file into an intermediate server")
    .requiredOption('--institution-url <url>', "the institution node's base URL, e.g. http://127.0.0.1:7110")
    .requiredOption('--file <path>', 'a .csv or .json file of copies')
    .option('--format <format>', 'csv or json (default: from the file name)')
    .option('--batch-size <n>', `copies per request, at most ${MAX_IMPORT_BATCH}`, String(MAX_IMPORT_BATCH))
    .action(async (options: { institutionUrl: string; file: string; format?: string; batchSize: string }) => {
      const format = (options.format ?? formatOfFile(options.file)) as ImportFormat | undefined;
      if (format !== 'csv' && format !== 'json') {
        throw new RenkeiError(
          'ERR_VALIDATION',
          'Give --format csv or --format json (the file name does not say).',
        );
      }
      const batchSize = wholeNumberOption(options.batchSize, '--batch-size', 1, MAX_IMPORT_BATCH);
      const started = performance.now();
      const text = readFileSync(options.file, 'utf8');
      const parsed = parseCopies(text, format, loadLegalTable(), new Date());
      if (parsed.problems.length > 0) {
        const rows = new Set(parsed.problems.map((p) => p.row)).size;
        console.error(`${options.file}: ${rows} bad row(s); nothing was sent.`);
        for (const problem of parsed.problems.slice(0, SHOWN_PROBLEMS)) {
          console.error(`  ${format === 'csv' ? 'row' : 'entry'} ${problem.row}: ${problem.message}`);
        }
        if (parsed.problems.length > SHOWN_PROBLEMS) {
          console.error(`  … and ${parsed.problems.length - SHOWN_PROBLEMS} more problem(s).`);
        }
        process.exitCode = 1;
        return;
      }

      const client = nodeClient(options.institutionUrl, 'the institution', 120_000);
      const bar =
        parsed.copies.length > batchSize
          ? new SingleBar(
              { format: 'copies [{bar}] {value}/{total} {eta}s left', stream: process.stderr },
              Presets.shades_classic,
            )
          : undefined;
      bar?.start(parsed.copies.length, 0);
      try {
        const result = await sendCopies(client, parsed, { batchSize, onBatch: (n) => bar?.increment(n) });
        bar?.stop();
        const seconds = (performance.now() - started) / 1000;
        console.log(
          table(
            ['file', 'format', 'copies', 'batches', 'written', 'seconds'],
            [
              [
                options.file,
                format,
                parsed.copies.length,
                result.batches,
                result.written,
                seconds.toFixed(2),
              ],
            ],
          ),
        );
      } catch (error) {
        bar?.stop();
        if (error instanceof RenkeiError && Array.isArray(error.details.rows)) {
          const rows = error.details.rows as { row: number; code: string; message: string }[];
          console.error(
            `${error.code}: the institution refused a batch; ${String(error.details.written)} copies were written before it.`,
          );
          for (const r of rows.slice(0, SHOWN_PROBLEMS))
            console.error(`  row ${r.row}: ${r.code} ${r.message}`);
          if (rows.length > SHOWN_PROBLEMS) console.error(`  … and ${rows.length - SHOWN_PROBLEMS} more.`);
          process.exitCode = 1;
          return;
        }
        throw error;
      }
    });
}
