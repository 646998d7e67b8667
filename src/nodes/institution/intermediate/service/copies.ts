/**
 * Copies (副本): what the institution's business systems register for the network to answer from,
 * each checked against the data layout in force when it is registered.
 */
import type { LegalTable } from '../../../../domain/legal-table/types.ts';
import { CopyInput, MAX_BATCH_COPIES, type StoredCopy } from '../../../../protocol/business.ts';
import type { AddresseeNumber, ItemNo } from '../../../../protocol/identifiers.ts';
import type { Clock } from '../../../../shared/clock.ts';
import { RenkeiError } from '../../../../shared/errors.ts';
import type { CopyToStore, IntermediatePerson, IntermediateStore } from '../store.ts';
import { unknownAddressee } from './errors.ts';

/** One bad row of a batch, by its 0-based index in `copies`. */
export interface BatchRowProblem {
  index: number;
  code: string;
  message: string;
  problems?: string[];
}

export interface CopyServiceDeps {
  store: IntermediateStore;
  legalTable: LegalTable;
  clock: Clock;
}

export class CopyService {
  constructor(private readonly deps: CopyServiceDeps) {}

  /**
   * Register or replace a person's copy of an item, checked against the layout in force now.
   *
   * Errors: `ERR_UNKNOWN_ADDRESSEE_NUMBER`, `ERR_NO_PERSON_CODE`, `ERR_UNKNOWN_ITEM`,
   * `ERR_LAYOUT_VIOLATION` (with `details.problems`).
   */
  async putCopy(input: CopyInput): Promise<StoredCopy> {
    const now = this.deps.clock.now();
    const person = await this.deps.store.findPerson(input.addresseeNumber);
    const checked = this.checkCopy(input, person, now);
    if (checked instanceof RenkeiError) throw checked;
    await this.deps.store.putCopies([checked]);
    return toStoredCopy(checked);
  }

  /**
   * Register up to 10,000 copies: all rows are checked first, then written in one transaction, or
   * none is written. Rows are untrusted input (`unknown`) so that every bad row is reported.
   *
   * Errors: `ERR_VALIDATION` (more than 10,000 rows); `ERR_IMPORT_INVALID` with `details.rows`, one
   * `{ index, code, message, problems? }` per bad row.
   */
  async putCopies(rows: readonly unknown[]): Promise<{ written: number }> {
    if (rows.length > MAX_BATCH_COPIES) {
      throw new RenkeiError('ERR_VALIDATION', `A batch holds at most ${MAX_BATCH_COPIES} copies.`, {
        max: MAX_BATCH_COPIES,
        actual: rows.length,
      });
    }
    const now = this.deps.clock.now();
    const problems: BatchRowProblem[] = [];
    const parsed: { index: number; copy: CopyInput }[] = [];
    rows.forEach((row, index) => {
      const result = CopyInput.safeParse(row);
      if (result.success) {
        parsed.push({ index, copy: result.data });
      } else {
        const issue = result.error.issues[0];
        problems.push({
          index,
          code: 'ERR_VALIDATION',
          message: `${issue?.path.join('.') || '(row)'}: ${issue?.message ?? 'invalid'}`,
        });
      }
    });
    const persons = await this.deps.store.findPersons(parsed.map((p) => p.copy.addresseeNumber));
    const copies: CopyToStore[] = [];
    const seen = new Map<string, number>();
    for (const { index, copy } of parsed) {
      const checked = this.checkCopy(copy, persons.get(copy.addresseeNumber), now);
      if (checked instanceof RenkeiError) {
        const entry: BatchRowProblem = { index, code: checked.code, message: checked.message };
        if (Array.isArray(checked.details.problems)) entry.problems = checked.details.problems as string[];
        problems.push(entry);
        continue;
      }
      const key = `${copy.addresseeNumber}\u0000${copy.itemNo}`;
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        problems.push({
          index,
          code: 'ERR_DUPLICATE',
          message: `The same person and item as row ${earlier}.`,
        });
        continue;
      }
      seen.set(key, index);
      copies.push(checked);
    }
    if (problems.length > 0) {
      problems.sort((a, b) => a.index - b.index);
      throw new RenkeiError(
        'ERR_IMPORT_INVALID',
        `${problems.length} of ${rows.length} copies are invalid; nothing was written.`,
        { rows: problems },
      );
    }
    await this.deps.store.putCopies(copies);
    return { written: copies.length };
  }

  /**
   * Remove a person's copy of an item. Idempotent: removing a copy that is not held succeeds.
   *
   * Errors: `ERR_UNKNOWN_ADDRESSEE_NUMBER`.
   */
  async deleteCopy(addresseeNumber: AddresseeNumber, itemNo: ItemNo): Promise<{ deleted: boolean }> {
    const person = await this.deps.store.findPerson(addresseeNumber);
    if (!person) throw unknownAddressee(addresseeNumber);
    return { deleted: await this.deps.store.deleteCopy(addresseeNumber, itemNo) };
  }

  private checkCopy(
    input: CopyInput,
    person: IntermediatePerson | undefined,
    now: Date,
  ): CopyToStore | RenkeiError {
    if (!person) return unknownAddressee(input.addresseeNumber);
    if (person.personCode === undefined) {
      return new RenkeiError(
        'ERR_NO_PERSON_CODE',
        'This person has no code yet: register them again through POST /business/v1/persons.',
        { addresseeNumber: input.addresseeNumber },
      );
    }
    if (!this.deps.legalTable.findItem(input.itemNo)) {
      return new RenkeiError('ERR_UNKNOWN_ITEM', `Item ${input.itemNo} is not in the legal table.`, {
        itemNo: input.itemNo,
      });
    }
    const check = this.deps.legalTable.checkLayout(input.itemNo, now, input.data);
    if (!check.ok) {
      return new RenkeiError(
        'ERR_LAYOUT_VIOLATION',
        `The data does not follow the layout of item ${input.itemNo} in force today.`,
        { itemNo: input.itemNo, layoutVersion: check.version, problems: check.problems },
      );
    }
    return {
      addresseeNumber: input.addresseeNumber,
      itemNo: input.itemNo,
      data: input.data,
      layoutVersion: check.version,
      updatedAt: now,
    };
  }
}

function toStoredCopy(copy: CopyToStore): StoredCopy {
  return {
    addresseeNumber: copy.addresseeNumber,
    itemNo: copy.itemNo,
    layoutVersion: copy.layoutVersion,
    updatedAt: copy.updatedAt.toISOString(),
  };
}
