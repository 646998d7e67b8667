import { performance } from 'node:perf_hooks';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { describeEncoding, ENCODING_OPTIONS, isEncodingOption } from '../nodes/institution/import/decode.ts';
import { loadFixedLengthLayout } from '../nodes/institution/import/fixed-length.ts';
import { formatOfFile, type ImportFormat } from '../nodes/institution/import/parse-copies.ts';
import { readCopies, type CopiesFile } from '../nodes/institution/import/read-copies.ts';
import { MAX_IMPORT_BATCH, sendCopies } from '../nodes/institution/import/send-copies.ts';
import { RenkeiError } from '../shared/errors.ts';
import { businessApi } from '../protocol/routes.ts';
import type { GlobalOptions } from './output.ts';
import { connectNode, nodeUrlOption } from './nodes.ts';
import { plural, readFileArgument, table, wholeNumberOption } from './output.ts';

const SHOWN_PROBLEMS = 50;

/**
 * `renkei import --institution-url <url> --file <path> [--encoding <e>] [--layout <file>]`: load copies
 * (副本) from a business system's CSV, JSON or fixed-length export into an institution's intermediate
 * server. A missing file or a directory is refused before anything else, and the URL must answer
 * `GET /healthz` as an institution node (see `nodes.ts`) before the file is read. The file is decoded
 * in the declared encoding, or the detected one (`auto`: UTF-8 with or without BOM, else Shift_JIS /
 * CP932), which the summary prints; a line or record that does not decode cleanly refuses the whole
 * file (ERR_ENCODING, naming the line). Then the whole file is parsed and checked against the layouts
 * in force today; if any row is bad, every bad row is listed by row number and nothing is sent
 * (exit 1). Only then do copies go in batches of at most 5,000 through `POST /business/v1/copies:batch`,
 * each all-or-nothing, with a progress bar for large files. With `--layout`, the file is fixed-length
 * records cut as the layout file says. File formats: `src/nodes/institution/import/parse-copies.ts`,
 * `decode.ts` and `fixed-length.ts`.
 *
 * Errors: ERR_VALIDATION (file, layout file, options), ERR_ENCODING, and the node's (ERR_IMPORT_INVALID,
 * ERR_UPSTREAM_UNAVAILABLE…).
 */
export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description(
      "load copies (副本) from a business system's CSV, JSON or fixed-length file into an intermediate server",
    )
    .requiredOption('--institution-url <url>', "the institution node's base URL, e.g. http://127.0.0.1:7110")
    .requiredOption('--file <path>', 'a .csv or .json file of copies, or fixed-length records with --layout')
    .option('--format <format>', 'csv or json (default: from the file name)')
    .option(
      '--encoding <encoding>',
      `the file's encoding: ${ENCODING_OPTIONS.join(', ')} (auto: UTF-8, else Shift_JIS, and says which)`,
      'auto',
    )
    .option('--layout <file>', 'a YAML layout of fixed-length records (byte offsets and lengths)')
    .option('--batch-size <n>', `copies per request, at most ${MAX_IMPORT_BATCH}`, String(MAX_IMPORT_BATCH))
    .action(
      async (options: {
        institutionUrl: string;
        file: string;
        format?: string;
        encoding: string;
        layout?: string;
        batchSize: string;
      }) => {
        const bytes = readFileArgument(options.file, '--file');
        const institutionUrl = nodeUrlOption(options.institutionUrl, 'institution');
        const encoding = options.encoding.toLowerCase();
        if (!isEncodingOption(encoding)) {
          throw new RenkeiError(
            'ERR_VALIDATION',
            `--encoding must be one of ${ENCODING_OPTIONS.join(', ')}.`,
          );
        }
        const layout = options.layout === undefined ? undefined : loadFixedLengthLayout(options.layout);
        let source: CopiesFile;
        if (layout) {
          if (options.format !== undefined) {
            throw new RenkeiError(
              'ERR_VALIDATION',
              'Give --layout or --format, not both: --layout means fixed-length records.',
            );
          }
          source = { format: 'fixed-length', encoding, layout };
        } else {
          const named = (options.format ?? formatOfFile(options.file)) as ImportFormat | undefined;
          if (named !== 'csv' && named !== 'json') {
            throw new RenkeiError(
              'ERR_VALIDATION',
              'Give --format csv or --format json (the file name does not say), or --layout for fixed-length records.',
            );
          }
          source = { format: named, encoding };
        }
        const { format } = source;
        const batchSize = wholeNumberOption(options.batchSize, '--batch-size', 1, MAX_IMPORT_BATCH);
        const client = await connectNode(institutionUrl, 'institution', businessApi, {
          dataDir: program.opts<GlobalOptions>().dataDir,
          timeoutMs: 120_000,
        });
        const started = performance.now();
        let parsed: ReturnType<typeof readCopies>;
        try {
          parsed = readCopies(bytes, source, loadLegalTable(), new Date());
        } catch (error) {
          if (error instanceof RenkeiError && error.code === 'ERR_ENCODING') {
            throw new RenkeiError(
              error.code,
              `--file ${options.file}: ${error.message} Nothing was sent.`,
              error.details,
            );
          }
          throw error;
        }
        const { decoding } = parsed;
        const readAs = `${describeEncoding(decoding)}${decoding.detected ? ' (detected)' : ''}`;
        if (parsed.problems.length > 0) {
          // Row 0 is the file as a whole (not JSON, or not a list of copies); rows and entries count from 1.
          const unit = format === 'csv' ? 'row' : format === 'json' ? 'entry' : 'record';
          const units = format === 'csv' ? 'bad rows' : format === 'json' ? 'bad entries' : 'bad records';
          const bad = new Set(parsed.problems.filter((p) => p.row > 0).map((p) => p.row)).size;
          console.error(
            bad > 0
              ? `${options.file}: ${plural(bad, `bad ${unit}`, units)}; nothing was sent.`
              : `${options.file}: nothing was sent.`,
          );
          for (const problem of parsed.problems.slice(0, SHOWN_PROBLEMS)) {
            console.error(
              `  ${problem.row === 0 ? 'the file' : `${unit} ${problem.row}`}: ${problem.message}`,
            );
          }
          if (parsed.problems.length > SHOWN_PROBLEMS) {
            console.error(`  … and ${plural(parsed.problems.length - SHOWN_PROBLEMS, 'more problem')}.`);
          }
          console.error(`  (read as ${readAs})`);
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
              ['file', 'format', 'encoding', 'copies', 'batches', 'written', 'seconds'],
              [
                [
                  options.file,
                  format,
                  readAs,
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
      },
    );
}
