import { mkdirSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
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
  type BulkNumberingResult,
  type BulkResident,
} from '../nodes/jlis/service/bulk-numbering.ts';
import type { BulkLines, Sex } from '../nodes/jlis/store.ts';
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
      const result = await numberFile({
        dataDir: resolve(dataDir),
        file,
        effectiveDate,
        ...databaseOption(options.database),
      });
      console.log(
        `${plural(result.numbered, 'resident')} numbered, ${plural(result.skipped, 'resident')} numbered before (skipped), ` +
          `${plural(result.recounted, 'number')} derived again after a collision.`,
      );
    });
}

/**
 * Call `onLine` with each line of `file` (its bytes `[start, end)` in `bytes`, without the LF or CRLF)
 * and its number, counting from 1. A chunk is read at a time and split on its LF bytes, which never
 * occur inside a UTF-8 character: no line is decoded here, the callers decode only what they need.
 * Not `readline` nor a text stream: decoding whole chunks and a promise per line were a quarter of a
 * ten-million-line run. (A lone CR, a line break only old Macs wrote, is not one here.)
 */
export async function forEachLine(
  file: string,
  onLine: (bytes: Buffer, start: number, end: number, line: number) => void | Promise<void>,
): Promise<void> {
  const handle = await open(file, 'r');
  try {
    let bytes = Buffer.allocUnsafe(CHUNK);
    let filled = 0;
    let line = 0;
    let eof = false;
    while (!eof) {
      if (filled === bytes.length) {
        // A line longer than the buffer: a bigger buffer.
        const bigger = Buffer.allocUnsafe(bytes.length * 2);
        bytes.copy(bigger, 0, 0, filled);
        bytes = bigger;
      }
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, null);
      eof = bytesRead === 0;
      filled += bytesRead;
      let start = 0;
      for (let end = bytes.indexOf(10, start); end !== -1 && end < filled; end = bytes.indexOf(10, start)) {
        const result = onLine(bytes, start, bytes[end - 1] === 13 && end > start ? end - 1 : end, ++line);
        if (result !== undefined) await result;
        start = end + 1;
      }
      if (eof && start < filled) {
        await onLine(bytes, start, bytes[filled - 1] === 13 ? filled - 1 : filled, ++line);
        start = filled;
      }
      // The unfinished line moves to the front (it may hold half a character: it is never decoded alone).
      bytes.copy(bytes, 0, start, filled);
      filled -= start;
    }
  } finally {
    await handle.close();
  }
}

/** Bytes read from the file at a time. */
const CHUNK = 1 << 22;

/** Read the file's residents a batch at a time. */
export async function* residentBatches(file: string): AsyncGenerator<BulkResident[]> {
  const batches: BulkResident[][] = [];
  let batch: BulkResident[] = [];
  // `forEachLine` pushes; a generator pulls: the batches made from one chunk wait here (a few at most).
  let done = false;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  let resume: (() => void) | undefined;
  /** Set when the reader of the batches stops early (a failed write): the file is read no further. */
  let closed = false;
  const reading = forEachLine(file, (bytes, start, end, line) => {
    if (closed) throw new Error('closed');
    if (line === 1 || end === start) return;
    batch.push(residentOfBytes(bytes, start, end));
    if (batch.length === BULK_BATCH) {
      batches.push(batch);
      batch = [];
      wake?.();
      // At most two batches wait: memory stays flat however fast the file is read.
      if (batches.length >= 2) return new Promise<void>((r) => (resume = r));
    }
    return undefined;
  }).then(
    () => {
      if (batch.length > 0) batches.push(batch);
      done = true;
      wake?.();
    },
    (error: unknown) => {
      failed = error as Error;
      done = true;
      wake?.();
    },
  );
  try {
    for (;;) {
      const next = batches.shift();
      if (next !== undefined) {
        const waiting = resume;
        resume = undefined;
        waiting?.();
        yield next;
        continue;
      }
      if (done) break;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
    if (failed !== undefined) throw failed;
  } finally {
    closed = true;
    resume?.();
    await reading;
  }
}

/** One resident from a checked line: each cell decoded by itself (a quoted one through `splitCsvLine`). */
function residentOfBytes(bytes: Buffer, start: number, end: number): BulkResident {
  const commas = commasOf(bytes, start, end);
  if (commas === undefined) return residentOf(splitCsvLine(bytes.toString('utf8', start, end)) ?? []);
  const [c1, c2, c3, c4, c5] = commas;
  const sexLength = end - c5 - 1;
  const slices = bytes as unknown as Slices;
  return {
    // Checked ASCII: latin1 decodes it as UTF-8 would, faster.
    residentRecordCode: slices.latin1Slice(start, c1),
    name: slices.utf8Slice(c1 + 1, c2),
    nameKana: c3 === c2 + 1 ? undefined : slices.utf8Slice(c2 + 1, c3),
    address: slices.utf8Slice(c3 + 1, c4),
    dateOfBirth: slices.latin1Slice(c4 + 1, c5),
    sex: sexLength === 4 ? 'male' : sexLength === 6 ? 'female' : 'other',
  };
}

/**
 * Node's own decoders on every Buffer, undeclared in its types: `toString(encoding, start, end)` without
 * its argument checks and encoding lookup, a tenth of the second pass's time for six cells a line.
 * UTF-8 for the text; latin1 only for cells checked to be ASCII (it is wrong for anything else).
 */
interface Slices {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}

/**
 * The five commas of a line of six unquoted cells, or undefined when the line holds a quote or
 * another number of commas (then it is read as text, `splitCsvLine`).
 */
function commasOf(
  bytes: Buffer,
  start: number,
  end: number,
): [number, number, number, number, number] | undefined {
  const found: number[] = [];
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b === 44) {
      if (found.push(i) > 5) return undefined;
    } else if (b === 34) return undefined;
  }
  return found.length === 5 ? (found as [number, number, number, number, number]) : undefined;
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
 * written; how many residents. `onCodes` is given the checked residents' codes a batch at a time (11
 * ASCII digits each, the buffer handed over), the last batch once the whole file has passed. Errors:
 * ERR_IMPORT_INVALID naming the line and the column, never the value.
 *
 * Most lines are proven valid on their bytes (`fastCheck`), without decoding them; any line that
 * cannot be (a quoted cell, a long name, a bad value) is decoded and checked by `checkBulkResident`,
 * which alone words the refusals: the fast check only ever accepts what it would.
 */
export async function checkFile(
  file: string,
  today: string,
  onCodes?: (codes: Uint8Array, lines?: BulkLines) => void | Promise<void>,
  withLines = false,
): Promise<number> {
  // Ten million codes: a typed-array set, where a Set<number> took most of a gigabyte.
  const codes = new NumberSet();
  let residents = 0;
  let at = 0;
  let batch = new Uint8Array(BULK_BATCH * 11);
  // The batch's lines, when asked for (a one-pass run writes them while the rest is checked).
  let lines = newLines(LINE_BYTES);
  let used = 0;
  const todayNumber = Number(today.replaceAll('-', ''));
  let current = 0;
  const refuse = (why: string) =>
    new RenkeiError('ERR_IMPORT_INVALID', `${file} line ${current}: ${why}. Nothing was numbered.`, {
      line: current,
    });
  try {
    await forEachLine(file, (bytes, start, end, line) => {
      current = line;
      if (line === 1) {
        const header = bytes.toString('utf8', start, end).replace(/^\uFEFF/, '');
        if (header !== BULK_NUMBERING_COLUMNS.join(',')) {
          throw refuse(`the header must be ${BULK_NUMBERING_COLUMNS.join(',')}`);
        }
        return;
      }
      if (end === start) return;
      let code: number;
      const commas = commasOf(bytes, start, end);
      if (commas !== undefined && fastCheck(bytes, start, end, commas, todayNumber)) {
        code = 0;
        for (let i = start; i < start + 11; i++) code = code * 10 + bytes[i]! - 48;
        bytes.copy(batch, at * 11, start, start + 11);
        if (withLines) {
          if (used + end - start > lines.bytes.length) {
            const bigger = newLines(Math.max(lines.bytes.length * 2, used + end - start));
            bigger.bytes.set(lines.bytes.subarray(0, used));
            bigger.bounds.set(lines.bounds);
            bigger.cells = lines.cells;
            lines = bigger;
          }
          bytes.copy(lines.bytes, used, start, end);
          const o = at * 7;
          const shift = used - start;
          lines.bounds[o] = used;
          for (let k = 0; k < 5; k++) lines.bounds[o + 1 + k] = commas[k]! + shift;
          lines.bounds[o + 6] = end + shift;
          used += end - start;
        }
      } else {
        const cells = splitCsvLine(bytes.toString('utf8', start, end));
        if (cells?.length !== BULK_NUMBERING_COLUMNS.length) {
          throw refuse(`it must have ${BULK_NUMBERING_COLUMNS.length} columns`);
        }
        const resident = residentOf(cells);
        const problem = checkBulkResident(resident, today);
        if (problem) throw refuse(problem);
        code = Number(resident.residentRecordCode);
        batch.set(Buffer.from(resident.residentRecordCode, 'latin1'), at * 11);
        if (withLines) lines.cells[at] = cells;
      }
      if (!codes.add(code)) throw refuse('its residentRecordCode is on an earlier line too');
      residents++;
      if (++at === BULK_BATCH) {
        const full = batch;
        const ready = withLines ? linesOf(lines, used) : undefined;
        batch = new Uint8Array(BULK_BATCH * 11);
        at = 0;
        if (withLines) {
          lines = newLines(LINE_BYTES);
          used = 0;
        }
        return onCodes?.(full, ready);
      }
      return undefined;
    });
  } catch (error) {
    if (error instanceof RenkeiError) throw error;
    throw new RenkeiError(
      'ERR_VALIDATION',
      `--file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
    );
  }
  if (residents === 0) throw refuse('the file holds no resident');
  if (at > 0) {
    await onCodes?.(batch.slice(0, at * 11), withLines ? linesOf(lines, used, at) : undefined);
  }
  return residents;
}

/** Bytes of lines a batch starts with (grown when its lines are longer): 160 a line. */
const LINE_BYTES = BULK_BATCH * 160;

function newLines(size: number): BulkLines {
  return { bytes: Buffer.allocUnsafeSlow(size), bounds: new Int32Array(BULK_BATCH * 7), cells: {} };
}

/** A batch's lines as the writer takes them: the bytes used, the bounds of `count` lines. */
function linesOf(lines: BulkLines, used: number, count = BULK_BATCH): BulkLines {
  return {
    bytes: new Uint8Array(lines.bytes.buffer, 0, used),
    bounds: count === BULK_BATCH ? lines.bounds : lines.bounds.slice(0, count * 7),
    cells: lines.cells,
  };
}

/**
 * Whether a line is surely a valid resident, read on its bytes: six unquoted cells; an 11-digit code
 * with its check digit; a name and an address that start with a visible character (ASCII, or a
 * kanji, kana or punctuation that is not the ideographic space) and whose UTF-8 bytes are within the
 * limit (a string never has more UTF-16 units than UTF-8 bytes); a kana within it; a real-looking
 * date not after today; the sex. False means "decode it and see", not "invalid".
 */
function fastCheck(
  bytes: Buffer,
  start: number,
  end: number,
  commas: [number, number, number, number, number],
  today: number,
): boolean {
  const [c1, c2, c3, c4, c5] = commas;
  if (c1 - start !== 11) return false;
  let sum = 0;
  for (let n = 1; n <= 10; n++) {
    const digit = bytes[start + 10 - n]! - 48;
    if (digit < 0 || digit > 9) return false;
    sum += digit * (((n - 1) % 6) + 2);
  }
  const r = sum % 11;
  if (bytes[start + 10]! - 48 !== (r <= 1 ? 0 : 11 - r)) return false;
  if (!visibleStart(bytes, c1 + 1, c2) || c2 - c1 - 1 > 100) return false;
  if (c3 - c2 - 1 > 100) return false;
  if (!visibleStart(bytes, c3 + 1, c4) || c4 - c3 - 1 > 200) return false;
  if (c5 - c4 - 1 !== 10 || bytes[c4 + 5] !== 45 || bytes[c4 + 8] !== 45) return false;
  let date = 0;
  for (const i of DATE_DIGITS) {
    const digit = bytes[c4 + i]! - 48;
    if (digit < 0 || digit > 9) return false;
    date = date * 10 + digit;
  }
  const month = Math.floor(date / 100) % 100;
  const day = date % 100;
  if (month < 1 || month > 12 || day < 1 || day > 31 || date > today) return false;
  return SEX_BYTES.some(
    (sex) => end - c5 - 1 === sex.length && bytes.compare(sex, 0, sex.length, c5 + 1, end) === 0,
  );
}

/** Where a date's digits are in `YYYY-MM-DD`, counting the comma before it. */
const DATE_DIGITS = [1, 2, 3, 4, 6, 7, 9, 10];
const SEX_BYTES = ['male', 'female', 'other'].map((sex) => Buffer.from(sex, 'latin1'));

/**
 * Whether a cell starts with a character `trim` keeps: a visible ASCII one, or a CJK ideograph
 * (U+4000–U+9FFF, lead bytes E4–E9), or one of U+3001–U+3FFF (kana, punctuation: lead byte E3 not
 * followed by 80 80, the ideographic space). Anything else is left to the decoding check.
 */
function visibleStart(bytes: Buffer, start: number, end: number): boolean {
  if (end <= start) return false;
  const b = bytes[start]!;
  if (b > 0x20 && b < 0x7f) return true;
  if (b >= 0xe4 && b <= 0xe9) return true;
  return b === 0xe3 && end - start >= 3 && !(bytes[start + 1] === 0x80 && bytes[start + 2] === 0x80);
}

/**
 * Check the file and number its residents into J-LIS's database, with a progress bar on a terminal:
 * the numbers are derived and decided while the file is checked (nothing is written until every line
 * has passed), then the residents are written. Errors: those of `checkFile` and `BulkRun.write`.
 */
export async function numberFile(options: {
  dataDir: string;
  file: string;
  effectiveDate: string;
  postgres?: PostgresOption;
  /** Told when the whole file has passed its check, with how many residents it holds. */
  onChecked?: (total: number) => void;
  /** Told after each batch (the benchmark's progress); the terminal's bar otherwise. */
  onProgress?: (handled: number) => void;
}): Promise<BulkNumberingResult> {
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
    const run = await numbering.begin();
    const first = { change: 'first_registration', effectiveDate: options.effectiveDate };
    let shown = false;
    const progress = (handled: number) => {
      bar?.update(handled);
      options.onProgress?.(handled);
    };
    // SQLite: one pass, each batch written while the next ones are checked (all undone if a line is
    // refused). PostgreSQL: the whole file checked, then read again and written.
    const piped = await run.pipe(first, progress);
    let total: number;
    try {
      total = await checkFile(
        options.file,
        jstDate(new Date()),
        (codes, lines) => {
          if (lines !== undefined && !shown) {
            // The total is known at the end of the check: until then, guessed from the first lines.
            shown = true;
            const size = statSync(options.file).size;
            bar?.start(Math.max(1, Math.round((size * codes.length) / 11 / lines.bytes.length)), 0);
          }
          if (lines === undefined) return run.assign(codes);
          return run.assignLines(codes, lines);
        },
        piped,
      );
    } catch (error) {
      await run.abandon();
      throw error;
    }
    options.onChecked?.(total);
    if (piped) {
      if (shown) bar?.setTotal(total);
      else bar?.start(total, 0);
      return await run.written();
    }
    bar?.start(total, 0);
    return await run.write(residentBatches(options.file), first, progress);
  } finally {
    bar?.stop();
    await db?.destroy();
    lock.release();
  }
}
