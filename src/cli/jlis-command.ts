import { createReadStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { createKyselyBulkNumberingStore } from '../nodes/jlis/kysely-bulk-numbering-store.ts';
import type { JlisDatabase } from '../nodes/jlis/kysely-store.ts';
import { NumberSet } from '../nodes/jlis/number-set.ts';
import { loadOrCreateNumberingKey } from '../nodes/jlis/main.ts';
import { migrateJlisDatabase } from '../nodes/jlis/migrations.ts';
import {
  BULK_BATCH,
  BulkNumbering,
  checkBulkResident,
  type BulkResident,
} from '../nodes/jlis/service/bulk-numbering.ts';
import type { Sex } from '../nodes/jlis/store.ts';
import { jstDate, systemClock } from '../shared/clock.ts';
import { splitCsvLine } from '../shared/csv.ts';
import { nodeDatabase, openDatabase, type PostgresOption } from '../shared/db.ts';
import { RenkeiError } from '../shared/errors.ts';
import { lockDirectory } from '../shared/lock.ts';
import { silentLogger } from '../shared/logger.ts';
import { DATABASE_HELP, databaseOption, plural, type GlobalOptions } from './output.ts';

/** The header a bulk numbering file starts with: the columns, in this order. */
export const BULK_NUMBERING_COLUMNS = [
  'residentRecordCode',
  'name',
  'nameKana',
  'address',
  'dateOfBirth',
  'sex',
];

/**
 * `renkei jlis number --file F`: J-LIS's bulk numbering (一括付番) of a whole population from a file,
 * run by J-LIS's operators on J-LIS's own database (the node stopped: its data directory is locked
 * while it runs). The file is UTF-8 CSV with the header `BULK_NUMBERING_COLUMNS`; every line is
 * checked before anything is written (a bad line is named, never quoted, and nothing is written), then
 * the residents are numbered in batches with a progress bar. Stopped half-way, the same command
 * finishes the job: residents already numbered are skipped.
 */
export function registerJlisCommand(program: Command): void {
  const jlis = program.command('jlis').description("J-LIS's operators' tools (numbering)");
  jlis
    .command('number')
    .description(
      'number every resident of a CSV file (一括付番): residentRecordCode,name,nameKana,address,dateOfBirth,sex',
    )
    .requiredOption('--file <path>', 'the residents, UTF-8 CSV with a header row')
    .option('--effective-date <date>', 'the day the numbering takes effect (default today)')
    .option('--database <url>', DATABASE_HELP)
    .action(async (options: { file: string; effectiveDate?: string; database?: string }) => {
      const { dataDir } = program.opts<GlobalOptions>();
      const today = jstDate(new Date());
      const effectiveDate = options.effectiveDate ?? today;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(effectiveDate) || effectiveDate > today) {
        throw new RenkeiError(
          'ERR_VALIDATION',
          '--effective-date must be a date YYYY-MM-DD, not in the future.',
        );
      }
      const file = resolve(options.file);
      process.stderr.write(`Checking ${file}…\n`);
      const total = await checkFile(file, today);
      const result = await numberFile({
        dataDir: resolve(dataDir),
        file,
        total,
        effectiveDate,
        ...databaseOption(options.database),
      });
      console.log(
        `${plural(result.numbered, 'resident')} numbered, ${plural(result.skipped, 'resident')} numbered before (skipped), ` +
          `${plural(result.recounted, 'number')} derived again after a collision.`,
      );
    });
}

/** Read the file's residents a batch at a time. */
async function* residentBatches(file: string): AsyncGenerator<BulkResident[]> {
  let batch: BulkResident[] = [];
  let line = 0;
  for await (const lines of linesOf(createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }))) {
    for (const text of lines) {
      line++;
      if (line === 1 || text.length === 0) continue;
      batch.push(residentOf(splitCsvLine(text) ?? []));
      if (batch.length === BULK_BATCH) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * The lines of a UTF-8 text stream, without their LF or CRLF, a chunk's worth at a time. Not
 * `readline`, nor a line per `yield`: a promise per line was a tenth of a ten-million-line run. (A
 * lone CR, a line break only old Macs wrote, is not one here.)
 */
export async function* linesOf(input: AsyncIterable<string | Buffer>): AsyncGenerator<string[]> {
  let rest = '';
  for await (const chunk of input) {
    const text = rest + String(chunk);
    let start = 0;
    const lines: string[] = [];
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      lines.push(text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end));
      start = end + 1;
    }
    rest = text.slice(start);
    yield lines;
  }
  if (rest.length > 0) yield [rest.endsWith('\r') ? rest.slice(0, -1) : rest];
}

function residentOf(cells: string[]): BulkResident {
  const [residentRecordCode = '', name = '', nameKana = '', address = '', dateOfBirth = '', sex = ''] = cells;
  // One shape for every row (nameKana undefined rather than absent): V8 keeps them all fast.
  return {
    residentRecordCode,
    name,
    nameKana: nameKana === '' ? undefined : nameKana,
    address,
    dateOfBirth,
    sex: sex as Sex,
  };
}

/**
 * Check every line (columns, each value, a resident record code twice in the file) before anything is
 * written; how many residents. Errors: ERR_IMPORT_INVALID naming the line and the column, never the value.
 */
export async function checkFile(file: string, today: string): Promise<number> {
  // Ten million codes: a typed-array set, where a Set<number> took most of a gigabyte.
  const codes = new NumberSet();
  let line = 0;
  let residents = 0;
  const refuse = (why: string) =>
    new RenkeiError('ERR_IMPORT_INVALID', `${file} line ${line}: ${why}. Nothing was numbered.`, { line });
  let input;
  try {
    input = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
    for await (const lines of linesOf(input)) {
      for (const text of lines) {
        line++;
        if (line === 1) {
          if (text.replace(/^\uFEFF/, '') !== BULK_NUMBERING_COLUMNS.join(',')) {
            throw refuse(`the header must be ${BULK_NUMBERING_COLUMNS.join(',')}`);
          }
          continue;
        }
        if (text.length === 0) continue;
        const cells = splitCsvLine(text);
        if (cells?.length !== BULK_NUMBERING_COLUMNS.length) {
          throw refuse(`it must have ${BULK_NUMBERING_COLUMNS.length} columns`);
        }
        const resident = residentOf(cells);
        const problem = checkBulkResident(resident, today);
        if (problem) throw refuse(problem);
        const code = Number(resident.residentRecordCode);
        if (!codes.add(code)) throw refuse('its residentRecordCode is on an earlier line too');
        residents++;
      }
    }
  } catch (error) {
    if (error instanceof RenkeiError) throw error;
    throw new RenkeiError(
      'ERR_VALIDATION',
      `--file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
    );
  }
  if (residents === 0) throw refuse('the file holds no resident');
  return residents;
}

/** Number the checked file into J-LIS's database, with a progress bar on a terminal. */
export async function numberFile(options: {
  dataDir: string;
  file: string;
  total: number;
  effectiveDate: string;
  postgres?: PostgresOption;
  /** Told after each batch (the benchmark's progress); the terminal's bar otherwise. */
  onProgress?: (handled: number) => void;
}) {
  const dir = join(options.dataDir, 'jlis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = lockDirectory(dir, 'jlis');
  let db: Kysely<JlisDatabase> | undefined;
  const bar =
    options.onProgress === undefined && process.stderr.isTTY
      ? new SingleBar(
          { format: '{bar} {percentage}% {value}/{total} residents, {eta_formatted} left' },
          Presets.shades_classic,
        )
      : undefined;
  try {
    const logger = silentLogger();
    const numberingKey = loadOrCreateNumberingKey(join(dir, 'numbering-key'), logger);
    db = await openDatabase<JlisDatabase>(nodeDatabase(options.postgres, join(dir, 'jlis.sqlite'), 'jlis'));
    await migrateJlisDatabase(db);
    const numbering = new BulkNumbering({
      store: createKyselyBulkNumberingStore(db, join(dir, 'jlis.sqlite')),
      clock: systemClock,
      logger,
      numberingKey,
    });
    bar?.start(options.total, 0);
    return await numbering.number(
      residentBatches(options.file),
      { change: 'first_registration', effectiveDate: options.effectiveDate },
      (handled) => {
        bar?.update(handled);
        options.onProgress?.(handled);
      },
    );
  } finally {
    bar?.stop();
    await db?.destroy();
    lock.release();
  }
}
