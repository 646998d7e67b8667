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
 * backstop. Numbers are derived in a worker thread one batch ahead of the writing. Only for J-LIS's
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
import type { BasicFourInfo, BulkNumberingStore, IdentityRecord } from '../store.ts';

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
    try {
      // Inside: from here on, whatever fails, the index of numbers is put back (`finally`).
      await store.start(
        (code) => registered.add(Number(code)),
        (number) => taken.add(Number(number)),
      );
      for (let batch = await ahead(); batch !== undefined;) {
        const numbers = await batch.numbers;
        // Read and derive the next batch while this one is written (the worker's core meanwhile).
        const following = ahead();
        following.catch(() => undefined);
        const records: IdentityRecord[] = batch.fresh.map((resident, i) => {
          const { residentRecordCode } = resident;
          let counter = 0;
          let individualNumber = numbers[i]!;
          while (!taken.add(Number(individualNumber))) {
            if (++counter > MAX_COUNTER) {
              throw new RenkeiError('ERR_INTERNAL', 'No free Individual Number was found for a resident.');
            }
            individualNumber = deriveIndividualNumber(numberingKey, residentRecordCode, counter);
          }
          if (counter > 0) result.recounted++;
          // Spelled out: an object spread per resident was a tenth of the run (V8's slow path).
          return {
            residentRecordCode,
            individualNumber,
            numberingCounter: counter,
            status: 'resident',
            name: resident.name,
            nameKana: resident.nameKana,
            address: resident.address,
            dateOfBirth: resident.dateOfBirth,
            sex: resident.sex,
          };
        });
        // In code order: the primary key's index then takes its entries in order.
        records.sort((a, b) =>
          a.residentRecordCode < b.residentRecordCode
            ? -1
            : a.residentRecordCode > b.residentRecordCode
              ? 1
              : 0,
        );
        if (records.length > 0) await store.insertBatch(records, clock.now(), first);
        result.numbered += records.length;
        result.skipped += batch.size - records.length;
        handled += batch.size;
        onProgress?.(handled);
        batch = await following;
      }
      await store.finish();
      finished = true;
    } finally {
      await deriver.close();
      // A failed run still tries to leave the index in place (a crash leaves it to the next start).
      if (!finished) await store.finish().catch(() => undefined);
    }
    logger.info({ ...result }, 'bulk numbering done');
    return result;
  }
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
