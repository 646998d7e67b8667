/**
 * Bulk numbering (一括付番): a whole population from a file, as J-LIS numbered every resident of
 * Japan in October 2015. Each resident's Individual Number is derived from their resident record code
 * exactly as one at a time (`numbering.ts`: the same key, the same counters on a collision), and each
 * gets the same first history entry; only the writing is batched (thousands of residents per
 * transaction, a few multi-row statements each).
 *
 * Resumable: a resident record code already registered is skipped and counted, so a run stopped
 * half-way (a crash, Ctrl-C) is finished by running the same file again. Each batch is written whole
 * or not at all.
 */
import { isResidentRecordCode } from '../../../domain/identifiers/resident-record-code.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import { deriveIndividualNumber } from '../numbering.ts';
import type { BasicFourInfo, IdentityRecord, JlisStore } from '../store.ts';

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
export const BULK_BATCH = 10_000;
const MAX_COUNTER = 20;

export class BulkNumbering {
  constructor(
    private readonly deps: { store: JlisStore; clock: Clock; logger: Logger; numberingKey: Uint8Array },
  ) {}

  /**
   * Number every resident of `batches` (each at most `BULK_BATCH`), in order; `onProgress` is told
   * how many were handled so far. The rows must be valid (`checkBulkResident`): the caller checks the
   * whole file before anything is written.
   */
  async number(
    batches: AsyncIterable<BulkResident[]> | Iterable<BulkResident[]>,
    first: { change: string; effectiveDate: string },
    onProgress?: (handled: number) => void,
  ): Promise<BulkNumberingResult> {
    const { store, clock, logger, numberingKey } = this.deps;
    const result: BulkNumberingResult = { numbered: 0, skipped: 0, recounted: 0 };
    let handled = 0;
    for await (const batch of batches) {
      const counters = new Map<string, number>();
      let pending = batch;
      for (let round = 0; pending.length > 0; round++) {
        if (round > MAX_COUNTER) {
          throw new RenkeiError('ERR_INTERNAL', 'No free Individual Number was found for a resident.');
        }
        const records: IdentityRecord[] = pending.map((resident) => {
          const counter = counters.get(resident.residentRecordCode) ?? 0;
          return {
            ...resident,
            individualNumber: deriveIndividualNumber(numberingKey, resident.residentRecordCode, counter),
            numberingCounter: counter,
            status: 'resident',
          };
        });
        // Two residents of this batch on one number: the later one goes to its next counter.
        const seen = new Set<string>();
        const clashes = new Set<string>();
        for (const r of records) {
          if (seen.has(r.individualNumber)) clashes.add(r.residentRecordCode);
          seen.add(r.individualNumber);
        }
        const { codesTaken, numbersTaken } =
          clashes.size > 0
            ? { codesTaken: [], numbersTaken: [] }
            : await store.insertResidentsBulk(records, clock.now(), first);
        if (clashes.size === 0 && codesTaken.length === 0 && numbersTaken.length === 0) {
          result.numbered += records.length;
          break;
        }
        const codeTaken = new Set(codesTaken);
        const numberTaken = new Set(numbersTaken);
        result.skipped += codeTaken.size;
        pending = records
          .filter((r) => !codeTaken.has(r.residentRecordCode))
          .map((r) => {
            if (numberTaken.has(r.individualNumber) || clashes.has(r.residentRecordCode)) {
              if (r.numberingCounter === 0) result.recounted++;
              counters.set(r.residentRecordCode, r.numberingCounter + 1);
            }
            const { individualNumber: _n, numberingCounter: _c, status: _s, ...resident } = r;
            return resident;
          });
      }
      handled += batch.length;
      onProgress?.(handled);
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
