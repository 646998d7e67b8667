/**
 * Bulk numbering (一括付番): a whole population from a file, as J-LIS numbered every resident of
 * Japan in October 2015. Each resident's Individual Number is derived from their resident record code
 * exactly as one at a time (`numbering.ts`: the same key, the same counters on a collision), and each
 * gets the same first history entry (kept on their row: migration 0007).
 *
 * Two passes over the file, as before, but the numbers are all decided in the first: while the caller
 * checks the file, it hands each batch's resident record codes to `BulkRun.assign`; the numbering
 * worker derives them on the second core (it was idle during the check), and each is checked at once
 * against typed-array sets of every code and number already given (the later of two residents on one
 * number, in the file's order, goes to its next counter, as one at a time would). The plan (code,
 * number and counter of each resident, 17 bytes) stays in memory; the second pass only reads the rows
 * again and writes them. The database's unique index of numbers is dropped while the rows load and
 * built once at the end, the backstop. Only for J-LIS's operators with the node stopped (`renkei jlis
 * number` locks its data directory).
 *
 * Nothing is written until the whole file is checked: a refused file leaves the database as it was.
 * Resumable: a resident record code already registered is skipped and counted, so a run stopped
 * half-way (a crash, Ctrl-C) is finished by running the same file again. Each batch is written whole
 * or not at all; a run stopped before its end leaves the index to be built by the next run, or by the
 * node's next start (`ensureNumberIndex`).
 */
import { isResidentRecordCode } from '../../../domain/identifiers/resident-record-code.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import { NumberSet } from '../number-set.ts';
import { deriveIndividualNumber } from '../numbering.ts';
import { createNumberDeriver, type NumberDeriver } from '../numbering-worker.ts';
import type {
  BasicFourInfo,
  BulkLines,
  BulkNumberingStore,
  BulkPlan,
  BulkRows,
  BulkWriter,
} from '../store.ts';

export interface BulkResident extends BasicFourInfo {
  residentRecordCode: string;
}

export interface BulkNumberingResult {
  /** Residents numbered by this run. */
  numbered: number;
  /** Residents whose resident record code was registered already (a resumed run): left as they were. */
  skipped: number;
  /** Residents whose first derived number was someone's, numbered with a later counter. */
  recounted: number;
}

/** Residents written per transaction. */
export const BULK_BATCH = 50_000;
/** Batches checked but not yet written, at most, in a one-pass run: memory stays flat. */
const AHEAD = 4;
const MAX_COUNTER = 20;
/** In a plan, the number of a resident registered before this run (skipped). */
const SKIPPED = -1;

interface BulkNumberingDeps {
  store: BulkNumberingStore;
  clock: Clock;
  logger: Logger;
  numberingKey: Uint8Array;
}

export class BulkNumbering {
  constructor(private readonly deps: BulkNumberingDeps) {}

  /**
   * Start a run: read every code and number already given (nothing is written yet). Then `assign`
   * the file's codes as it is checked, and `write` its residents; `abandon` a run whose file is refused.
   */
  async begin(): Promise<BulkRun> {
    const registered = new NumberSet();
    const taken = new NumberSet();
    await this.deps.store.load(
      (code) => registered.add(Number(code)),
      (number) => taken.add(Number(number)),
    );
    return new BulkRun(this.deps, registered, taken);
  }

  /**
   * Number every resident of `batches` (each at most `BULK_BATCH`), in order, residents already in
   * memory (checked and distinct, `checkBulkResident`); `onProgress` is told how many were handled
   * so far. Errors: those of `BulkRun.write`.
   */
  async number(
    batches: readonly (readonly BulkResident[])[],
    first: { change: string; effectiveDate: string },
    onProgress?: (handled: number) => void,
  ): Promise<BulkNumberingResult> {
    const run = await this.begin();
    for (const batch of batches) run.assign(codeBytes(batch.map((r) => r.residentRecordCode)));
    return run.write(batches, first, onProgress);
  }
}

/** The ASCII bytes of 11-digit codes, one after the other (what `BulkRun.assign` takes). */
export function codeBytes(codes: readonly string[]): Uint8Array {
  return new Uint8Array(Buffer.from(codes.join(''), 'latin1'));
}

/** One bulk numbering run: its plan (each resident's number), then its writing. */
export class BulkRun {
  private readonly deriver: NumberDeriver;
  /** The plan, by the resident's place in the file: code, number (or SKIPPED), counter. */
  private codes = new Float64Array(1 << 16);
  private numbers = new Float64Array(1 << 16);
  private counters = new Uint8Array(1 << 16);
  private planned = 0;
  /** The batches' numbers, decided in the file's order as the worker answers, each with where it starts. */
  private resolving: Promise<void> = Promise.resolve();
  private readonly decisions: { start: number; decided: Promise<void> }[] = [];
  private readonly result: BulkNumberingResult = { numbered: 0, skipped: 0, recounted: 0 };
  private ended = false;
  /** A one-pass run's writer (`pipe`), its batches in order, and how many are not written yet. */
  private writer: BulkWriter | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly held: { lines: BulkLines; plan: BulkPlan }[] = [];
  private inWriter = 0;
  private pending = 0;
  private piped = 0;
  private wrote: (() => void) | undefined;
  private failure: Error | undefined;
  private onProgress: ((handled: number) => void) | undefined;

  constructor(
    private readonly deps: BulkNumberingDeps,
    private readonly registered: NumberSet,
    private readonly taken: NumberSet,
  ) {
    this.deriver = createNumberDeriver(deps.numberingKey);
  }

  /**
   * The next residents of the file, by their resident record codes (11 ASCII digits each, checked,
   * one after the other; the buffer is handed over). Their numbers are derived in the worker and
   * decided in the order given.
   */
  assign(codes: Uint8Array): void {
    if (this.ended) throw new TypeError('the run has ended');
    const n = codes.length / 11;
    const start = this.planned;
    this.reserve(start + n);
    for (let i = 0; i < n; i++) {
      let code = 0;
      for (let j = i * 11; j < i * 11 + 11; j++) code = code * 10 + codes[j]! - 48;
      this.codes[start + i] = code;
    }
    this.planned += n;
    const derived = this.deriver.derive(codes);
    // Awaited by `write`, or never when the run is abandoned: not an unhandled rejection meanwhile.
    derived.catch(() => undefined);
    this.resolving = this.resolving.then(async () => this.decide(start, await derived));
    this.resolving.catch(() => undefined);
    this.decisions.push({ start, decided: this.resolving });
  }

  /**
   * `assign` in a piped run, with the residents' lines: they are written once their numbers are
   * decided. Resolves when few enough batches wait to be written (memory stays flat).
   */
  assignLines(codes: Uint8Array, lines: BulkLines): Promise<void> {
    const start = this.planned;
    this.assign(codes);
    return this.pipeBatch(start, this.planned - start, this.resolving, lines);
  }

  /**
   * A one-pass run (SQLite): from here on, each batch `assign`ed with its lines is written as soon as
   * its numbers are decided, by the store's writer, while the rest of the file is checked; all in one
   * transaction until `written` is called (the whole file has passed). False when the store has no
   * such writer (PostgreSQL): check the whole file first, then `write`.
   */
  async pipe(
    first: { change: string; effectiveDate: string },
    onProgress?: (handled: number) => void,
  ): Promise<boolean> {
    if (this.deps.store.pipeline === undefined) return false;
    this.writer = await this.deps.store.pipeline(this.deps.clock.now(), first);
    this.onProgress = onProgress;
    return true;
  }

  /** Write one batch once its numbers are decided; resolves when few enough wait to be written. */
  private pipeBatch(start: number, n: number, decided: Promise<void>, lines: BulkLines): Promise<void> {
    if (this.writer === undefined) throw new TypeError('assign with lines only in a piped run');
    this.pending++;
    // Held in order until decided, then handed to the writer (`pump`).
    this.writing = this.writing.then(async () => {
      await decided;
      // After a failed write nothing more is written (`written` reports it): not kept either.
      if (this.failure !== undefined) return;
      const end = start + n;
      this.held.push({
        lines,
        plan: {
          codes: this.codes.slice(start, end),
          numbers: this.numbers.slice(start, end),
          counters: this.counters.slice(start, end),
        },
      });
      this.pump();
    });
    this.writing.catch((error: unknown) => this.failed(error));
    return this.room();
  }

  /**
   * Hand held batches to the writer, two at most at a time: one being written, the next queued, so
   * the writer never waits for this thread (busy checking); the others stay here, so that the end of
   * the check (`checked`) is not queued behind all of them.
   */
  private pump(): void {
    const writer = this.writer;
    while (writer !== undefined && this.inWriter < 2 && this.held.length > 0 && this.failure === undefined) {
      const { lines, plan } = this.held.shift()!;
      const n = plan.codes.length;
      this.inWriter++;
      writer.write(lines, plan).then(
        () => {
          this.inWriter--;
          this.pending--;
          this.piped += n;
          this.onProgress?.(this.piped);
          this.pump();
          this.wrote?.();
        },
        (error: unknown) => this.failed(error),
      );
    }
  }

  private failed(error: unknown): void {
    this.failure ??= error instanceof Error ? error : new Error(String(error));
    this.wrote?.();
  }

  /** Until fewer than `AHEAD` batches wait to be written (or the writing failed). */
  private async room(): Promise<void> {
    while (this.pending >= AHEAD && this.failure === undefined) {
      await new Promise<void>((resolve) => (this.wrote = resolve));
    }
  }

  /**
   * The whole file has passed its check: commit what a piped run wrote, write the rest, build the
   * index of numbers. Errors: ERR_INTERNAL (as `write`), the writer's (a full disk).
   */
  async written(): Promise<BulkNumberingResult> {
    const writer = this.writer;
    if (writer === undefined) throw new TypeError('not a piped run');
    this.ended = true;
    try {
      // Every batch's numbers decided before anything commits: a full numbering space writes nothing.
      await this.resolving;
      await this.writing;
      // Queued behind at most two batches: those and every one before them commit together.
      await writer.checked();
      while (this.pending > 0 && this.failure === undefined) {
        await new Promise<void>((resolve) => (this.wrote = resolve));
      }
      if (this.failure !== undefined) throw this.failure;
      await writer.end(true);
      this.writer = undefined;
      await this.deps.store.finish();
    } finally {
      // The numbering worker ends either way; the writer's transaction is rolled back if not finished.
      await this.abandon();
    }
    this.deps.logger.info({ ...this.result }, 'bulk numbering done');
    return { ...this.result };
  }

  /**
   * Write the residents of `batches` (the same, in the same order, as were assigned), a transaction
   * per batch, then build the index of numbers again; `onProgress` is told how many were handled.
   * Errors: ERR_IMPORT_INVALID (the residents are not those assigned: the file changed since its
   * check), ERR_INTERNAL (no free number within 20 counters: a broken key or a full numbering space).
   */
  async write(
    batches: AsyncIterable<readonly BulkResident[]> | Iterable<readonly BulkResident[]>,
    first: { change: string; effectiveDate: string },
    onProgress?: (handled: number) => void,
  ): Promise<BulkNumberingResult> {
    const { store, clock, logger } = this.deps;
    let finished = false;
    let started = false;
    try {
      this.ended = true;
      // The first batch's numbers before the index goes; the worker goes on deriving the others
      // (those the check outran) while the first ones are written.
      await this.decisions[0]?.decided;
      started = true;
      // From here on, whatever fails, the index of numbers is put back (`finally`).
      await store.start();
      let handled = 0;
      for await (const batch of batches) {
        while (this.decisions.length > 0 && this.decisions[0]!.start < handled + batch.length) {
          await this.decisions.shift()!.decided;
        }
        const rows = this.rowsOf(batch, handled);
        if (rows.residentRecordCodes.length > 0) await store.insertBatch(rows, clock.now(), first);
        handled += batch.length;
        onProgress?.(handled);
      }
      if (handled !== this.planned) throw changed();
      await this.resolving;
      await store.finish();
      finished = true;
    } finally {
      await this.abandon();
      // A failed run still tries to leave the index in place (a crash leaves it to the next start).
      if (started && !finished) await store.finish().catch(() => undefined);
    }
    logger.info({ ...this.result }, 'bulk numbering done');
    return { ...this.result };
  }

  /** End a run that will not be written (its file was refused): the worker stops; nothing was written. */
  async abandon(): Promise<void> {
    this.ended = true;
    await this.deriver.close();
    const writer = this.writer;
    if (writer !== undefined) {
      // A piped run: what is not committed is rolled back (all of it before `written`); the index
      // of numbers is back either way (built again if a commit had dropped it).
      this.writer = undefined;
      await this.writing.catch(() => undefined);
      await writer.end(false).catch(() => undefined);
      await this.deps.store.finish();
    }
  }

  private reserve(size: number): void {
    if (size <= this.codes.length) return;
    let capacity = this.codes.length;
    while (capacity < size) capacity *= 2;
    const grow = <T extends Float64Array | Uint8Array>(old: T, made: T): T => {
      made.set(old);
      return made;
    };
    this.codes = grow(this.codes, new Float64Array(capacity));
    this.numbers = grow(this.numbers, new Float64Array(capacity));
    this.counters = grow(this.counters, new Uint8Array(capacity));
  }

  /** Each resident from `start` on gets the derived number, or the next counter's when it is taken. */
  private decide(start: number, derived: Float64Array): void {
    const { numberingKey } = this.deps;
    for (let i = 0; i < derived.length; i++) {
      const at = start + i;
      const code = this.codes[at]!;
      if (this.registered.has(code)) {
        this.numbers[at] = SKIPPED;
        this.result.skipped++;
        continue;
      }
      let counter = 0;
      let number = derived[i]!;
      while (!this.taken.add(number)) {
        if (++counter > MAX_COUNTER) {
          throw new RenkeiError('ERR_INTERNAL', 'No free Individual Number was found for a resident.');
        }
        const text = String(code).padStart(11, '0');
        number = Number(deriveIndividualNumber(numberingKey, text, counter));
      }
      if (counter > 0) this.result.recounted++;
      this.numbers[at] = number;
      this.counters[at] = counter;
      this.result.numbered++;
    }
  }

  /**
   * A batch's rows (its residents from place `from` in the file), column by column, each on the
   * number the plan gives them, in resident record code order: the primary key's index then takes its
   * entries in order. Residents registered before this run are left out.
   */
  private rowsOf(batch: readonly BulkResident[], from: number): BulkRows {
    if (from + batch.length > this.planned) throw changed();
    const fresh: number[] = [];
    for (let i = 0; i < batch.length; i++) {
      if (Number(batch[i]!.residentRecordCode) !== this.codes[from + i]) throw changed();
      if (this.numbers[from + i] !== SKIPPED) fresh.push(i);
    }
    const n = fresh.length;
    // Codes are 11 digits each: their order as numbers is their order as text. A file in code order
    // (the usual) is not sorted again.
    let sorted = true;
    for (let j = 1; j < n && sorted; j++) {
      if (this.codes[from + fresh[j]!]! < this.codes[from + fresh[j - 1]!]!) sorted = false;
    }
    if (!sorted) fresh.sort((a, b) => this.codes[from + a]! - this.codes[from + b]!);
    const rows: BulkRows = {
      residentRecordCodes: new Array<string>(n),
      individualNumbers: new Array<string>(n),
      numberingCounters: new Array<number>(n),
      names: new Array<string>(n),
      nameKanas: new Array<string | null>(n),
      addresses: new Array<string>(n),
      datesOfBirth: new Array<string>(n),
      sexes: new Array<string>(n),
    };
    for (let j = 0; j < n; j++) {
      const i = fresh[j]!;
      const resident = batch[i]!;
      rows.residentRecordCodes[j] = resident.residentRecordCode;
      rows.individualNumbers[j] = String(this.numbers[from + i]).padStart(12, '0');
      rows.numberingCounters[j] = this.counters[from + i]!;
      rows.names[j] = resident.name;
      rows.nameKanas[j] = resident.nameKana ?? null;
      rows.addresses[j] = resident.address;
      rows.datesOfBirth[j] = resident.dateOfBirth;
      rows.sexes[j] = resident.sex;
    }
    return rows;
  }
}

function changed(): RenkeiError {
  return new RenkeiError(
    'ERR_IMPORT_INVALID',
    'The file changed between its check and its numbering. Run the command again.',
  );
}

const SEXES = new Set(['male', 'female', 'other']);
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/**
 * What is wrong with one row of a bulk numbering file, or undefined when nothing is. Hand-written
 * rather than zod because it runs ten million times; the rules are those of `NewResident`. The
 * message never quotes the row's values.
 */
export function checkBulkResident(row: BulkResident, today: string): string | undefined {
  if (!isResidentRecordCode(row.residentRecordCode)) {
    return 'residentRecordCode is not 11 digits with a valid check digit';
  }
  if (row.name.trim().length === 0 || row.name.length > 100) return 'name is empty or longer than 100';
  if (row.nameKana !== undefined && row.nameKana.length > 100) return 'nameKana is longer than 100';
  if (row.address.trim().length === 0 || row.address.length > 200) {
    return 'address is empty or longer than 200';
  }
  if (!DATE.test(row.dateOfBirth)) return 'dateOfBirth is not a date YYYY-MM-DD';
  if (row.dateOfBirth > today) return 'dateOfBirth is in the future';
  if (!SEXES.has(row.sex)) return 'sex is not male, female or other';
  return undefined;
}
