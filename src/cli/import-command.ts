import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { formatOfFile, parseCopies, type ImportFormat } from '../nodes/institution/import/parse-copies.ts';
import { MAX_IMPORT_BATCH, sendCopies } from '../nodes/institution/import/send-copies.ts';
import { RenkeiError } from '../shared/errors.ts';
import { businessApi } from '../protocol/routes.ts';
import type { GlobalOptions } from './output.ts';
import { connectNode, nodeUrlOption } from './nodes.ts';
import { plural, table, wholeNumberOption } from './output.ts';

const SHOWN_PROBLEMS = 50;

/**
 * `renkei import --institution-url <url> --file <path>`: load copies (副本) from a business system's
 * CSV or JSON export into an institution's intermediate server. A missing file or a directory is
 * refused before anything else, and the URL must answer `GET /healthz` as an institution node (see
 * `nodes.ts`) before the file is parsed. The whole file is parsed and checked
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
      const text = readFileArgument(options.file, '--file');
      const institutionUrl = nodeUrlOption(options.institutionUrl, 'institution');
      const format = (options.format ?? formatOfFile(options.file)) as ImportFormat | undefined;
      if (format !== 'csv' && format !== 'json') {
        throw new RenkeiError(
          'ERR_VALIDATION',
          'Give --format csv or --format json (the file name does not say).',
        );
      }
      const batchSize = wholeNumberOption(options.batchSize, '--batch-size', 1, MAX_IMPORT_BATCH);
      const client = await connectNode(institutionUrl, 'institution', businessApi, {
        dataDir: program.opts<GlobalOptions>().dataDir,
        timeoutMs: 120_000,
      });
      const started = performance.now();
      const parsed = parseCopies(text, format, loadLegalTable(), new Date());
      if (parsed.problems.length > 0) {
        // Row 0 is the file as a whole (not JSON, or not a list of copies); rows and entries count from 1.
        const unit = format === 'csv' ? 'row' : 'entry';
        const bad = new Set(parsed.problems.filter((p) => p.row > 0).map((p) => p.row)).size;
        console.error(
          bad > 0
            ? `${options.file}: ${plural(bad, `bad ${unit}`, format === 'csv' ? 'bad rows' : 'bad entries')}; nothing was sent.`
            : `${options.file}: nothing was sent.`,
        );
        for (const problem of parsed.problems.slice(0, SHOWN_PROBLEMS)) {
          console.error(`  ${problem.row === 0 ? 'the file' : `${unit} ${problem.row}`}: ${problem.message}`);
        }
        if (parsed.problems.length > SHOWN_PROBLEMS) {
          console.error(`  … and ${plural(parsed.problems.length - SHOWN_PROBLEMS, 'more problem')}.`);
        }
        process.exitCode = 1;
        return;
      }

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

/**
 * The text of the file given to `flag`, read before anything else is checked: ERR_VALIDATION naming
 * the flag and the path when there is no such file, it is a directory, or it cannot be read.
 */
function readFileArgument(path: string, flag: string): string {
  const refuse = (why: string) => new RenkeiError('ERR_VALIDATION', `${flag} ${path}: ${why}`);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EISDIR') throw refuse('is a directory, not a file');
    if (code === 'ENOENT') throw refuse('no such file');
    throw refuse(`cannot be read (${code ?? 'unknown error'})`);
  }
}
