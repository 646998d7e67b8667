/**
 * Bulk numbering (一括付番): a whole population from a file, as J-LIS numbered every resident of
 * Japan in October 2015. Each resident's Individual Number is derived from their resident record code
 * exactly as one at a time (`numbering.ts`: the same key, the same counters on a collision), and each
 * gets the same first history entry (kept on their row: migration 0007).
 *
 * Fast because uniqueness is checked in memory: every code and number already given is loaded into
 * typed-array sets first, each derived number is checked against them (the later of two residents on
 * one number, in the file's order, goes to its next counter, as one at a time would), and the
 * database's unique index of numbers is dropped while the rows load and built once at the end, the
 * backstop. Numbers are derived in a worker thread one batch ahead, and (on SQLite) written by another
 * while the next batch is read, at most `WRITING` batches waiting to be committed. Only for J-LIS's
 * operators with the node stopped (`renkei jlis number` locks its data directory).
 *
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
import { createNumberDeriver } from '../numbering-worker.ts';
import type { BasicFourInfo, BulkNumberingStore, BulkRows } from '../store.ts';

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
const MAX_COUNTER = 20;

export class BulkNumbering {
  constructor(
    private readonly deps: {
      store: BulkNumberingStore;
      clock: Clock;
      logger: Logger;
      numberingKey: Uint8Array;
    },
  ) {}

  /**
   * Number every resident of `batches` (each at most `BULK_BATCH`), in order; `onProgress` is told
   * how many were handled so far. The rows must be valid and their codes distinct
   * (`checkBulkResident`, and the caller's check of the whole file before anything is written).
   * Errors: ERR_INTERNAL (no free number within 20 counters: a broken key or a full numbering space).
   */
  async number(
    batches: AsyncIterable<BulkResident[]> | Iterable<BulkResident[]>,
    first: { change: string; effectiveDate: string },
    onProgress?: (handled: number) => void,
  ): Promise<BulkNumberingResult> {
    const { store, clock, logger, numberingKey } = this.deps;
    const result: BulkNumberingResult = { numbered: 0, skipped: 0, recounted: 0 };
    const registered = new NumberSet();
    const taken = new NumberSet();
    const deriver = createNumberDeriver(numberingKey);
    const iterator =
      Symbol.asyncIterator in batches ? batches[Symbol.asyncIterator]() : batches[Symbol.iterator]();
    /** The next batch, its residents not registered yet, and their numbers (counter 0) coming. */
    const ahead = async () => {
      const next = await iterator.next();
      if (next.done === true) return undefined;
      const fresh = next.value.filter((r) => !registered.has(Number(r.residentRecordCode)));
      const numbers = deriver.derive(fresh.map((r) => r.residentRecordCode));
      // Awaited later, or never when the run fails first: not an unhandled rejection meanwhile.
      numbers.catch(() => undefined);
      return { size: next.value.length, fresh, numbers };
    };
    let handled = 0;
    let finished = false;
    /** Batches handed to the store and not yet committed, each with the count handled by its end. */
    const writing: Promise<number>[] = [];
    // Not `onProgress?.(await …)`: without a listener, that would never await.
    const report = (upTo: number) => onProgress?.(upTo);
    try {
      // Inside: from here on, whatever fails, the index of numbers is put back (`finally`).
      await store.start(
        (code) => registered.add(Number(code)),
        (number) => taken.add(Number(number)),
      );
      for (let batch = await ahead(); batch !== undefined;) {
        const numbers = await batch.numbers;
        // Read and derive the next batch while this one is resolved and written.
        const following = ahead();
        following.catch(() => undefined);
        const rows = this.rowsOf(batch.fresh, numbers, taken, result);
        const count = rows.residentRecordCodes.length;
        const written = count > 0 ? store.insertBatch(rows, clock.now(), first) : Promise.resolve();
        result.numbered += count;
        result.skipped += batch.size - count;
        handled += batch.size;
        const upTo = handled;
        writing.push(written.then(() => upTo));
        // Bounded: at most WRITING batches wait for their commit (backpressure; memory stays flat).
        while (writing.length >= WRITING) report(await writing.shift()!);
        batch = await following;
      }
      for (const done of writing.splice(0)) report(await done);
      await store.finish();
      finished = true;
    } finally {
      // On the way out of a failure, the batches already handed over end first (written or not,
      // each whole or absent), before the index is built.
      await Promise.allSettled(writing);
      await deriver.close();
      // A failed run still tries to leave the index in place (a crash leaves it to the next start).
      if (!finished) await store.finish().catch(() => undefined);
    }
    logger.info({ ...result }, 'bulk numbering done');
    return result;
  }

  /**
   * A batch's rows, column by column, each resident on the number `numbers` gives them unless it is
   * taken (then the next counter's, as one at a time would), in resident record code order: the
   * primary key's index then takes its entries in order.
   */
  private rowsOf(
    fresh: readonly BulkResident[],
    numbers: readonly string[],
    taken: NumberSet,
    result: BulkNumberingResult,
  ): BulkRows {
    const { numberingKey } = this.deps;
    const n = fresh.length;
    const individualNumbers = new Array<string>(n);
    const numberingCounters = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      let counter = 0;
      let individualNumber = numbers[i]!;
      while (!taken.add(Number(individualNumber))) {
        if (++counter > MAX_COUNTER) {
          throw new RenkeiError('ERR_INTERNAL', 'No free Individual Number was found for a resident.');
        }
        individualNumber = deriveIndividualNumber(numberingKey, fresh[i]!.residentRecordCode, counter);
      }
      if (counter > 0) result.recounted++;
      individualNumbers[i] = individualNumber;
      numberingCounters[i] = counter;
    }
    // Codes are 11 digits each: their order as numbers is their order as text. A file in code order
    // (the usual) is not sorted again.
    const keys = new Float64Array(n);
    let sorted = true;
    for (let i = 0; i < n; i++) {
      keys[i] = Number(fresh[i]!.residentRecordCode);
      if (i > 0 && keys[i]! < keys[i - 1]!) sorted = false;
    }
    const order = Array.from({ length: n }, (_, i) => i);
    if (!sorted) order.sort((a, b) => keys[a]! - keys[b]!);
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
      const i = order[j]!;
      const resident = fresh[i]!;
      rows.residentRecordCodes[j] = resident.residentRecordCode;
      rows.individualNumbers[j] = individualNumbers[i]!;
      rows.numberingCounters[j] = numberingCounters[i]!;
      rows.names[j] = resident.name;
      rows.nameKanas[j] = resident.nameKana ?? null;
      rows.addresses[j] = resident.address;
      rows.datesOfBirth[j] = resident.dateOfBirth;
      rows.sexes[j] = resident.sex;
    }
    return rows;
  }
}

/** Batches sent to the store and not yet committed, at most: one being written, one waiting. */
const WRITING = 2;

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
