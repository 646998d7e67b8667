import type { Kysely } from 'kysely';
import type { IndividualNumber } from '../../../domain/identifiers/index.ts';
import type { AddresseeNumber } from '../../../protocol/identifiers.ts';
import type { AddresseeStore, NumberReplacement, Registration } from './store.ts';

export interface AddresseeDatabase {
  addressees: {
    addressee_number: string;
    individual_number: string;
    registered_at: string;
  };
  replaced_individual_numbers: {
    individual_number: string;
    addressee_number: string;
    replaced_at: string;
    notice_id: string;
  };
}

const MAX_ALLOCATION_ATTEMPTS = 10;

/** `AddresseeStore` on Kysely: the same code for SQLite and PostgreSQL. */
export class KyselyAddresseeStore implements AddresseeStore {
  constructor(private readonly db: Kysely<AddresseeDatabase>) {}

  register(input: {
    individualNumber: IndividualNumber;
    addresseeNumber?: AddresseeNumber;
    allocate: () => AddresseeNumber;
    registeredAt: Date;
  }): Promise<Registration> {
    return this.db.transaction().execute(async (trx): Promise<Registration> => {
      const existing = await trx
        .selectFrom('addressees')
        .select('addressee_number')
        .where('individual_number', '=', input.individualNumber)
        .executeTakeFirst();
      if (existing) {
        if (input.addresseeNumber !== undefined && input.addresseeNumber !== existing.addressee_number) {
          return { kind: 'individual_number_taken' };
        }
        return { kind: 'existing', addresseeNumber: existing.addressee_number };
      }
      const replaced = await trx
        .selectFrom('replaced_individual_numbers')
        .select('individual_number')
        .where('individual_number', '=', input.individualNumber)
        .executeTakeFirst();
      if (replaced) return { kind: 'individual_number_replaced' };
      const taken = async (candidate: string) =>
        (await trx
          .selectFrom('addressees')
          .select('addressee_number')
          .where('addressee_number', '=', candidate)
          .executeTakeFirst()) !== undefined;
      let addresseeNumber = input.addresseeNumber;
      if (addresseeNumber !== undefined) {
        if (await taken(addresseeNumber)) return { kind: 'addressee_number_taken' };
      } else {
        for (let attempt = 0; attempt < MAX_ALLOCATION_ATTEMPTS && addresseeNumber === undefined; attempt++) {
          const candidate = input.allocate();
          if (!(await taken(candidate))) addresseeNumber = candidate;
        }
        if (addresseeNumber === undefined) throw new Error('could not allocate a free addressee number');
      }
      await trx
        .insertInto('addressees')
        .values({
          addressee_number: addresseeNumber,
          individual_number: input.individualNumber,
          registered_at: input.registeredAt.toISOString(),
        })
        .execute();
      return { kind: 'created', addresseeNumber };
    });
  }

  async findAddresseeNumber(individualNumber: IndividualNumber): Promise<AddresseeNumber | undefined> {
    const row = await this.db
      .selectFrom('addressees')
      .select('addressee_number')
      .where('individual_number', '=', individualNumber)
      .executeTakeFirst();
    return row?.addressee_number;
  }

  replaceIndividualNumber(input: {
    addresseeNumber: AddresseeNumber;
    from: IndividualNumber;
    to: IndividualNumber;
    noticeId: string;
    at: Date;
  }): Promise<NumberReplacement> {
    return this.db.transaction().execute(async (trx): Promise<NumberReplacement> => {
      const row = await trx
        .selectFrom('addressees')
        .select('individual_number')
        .where('addressee_number', '=', input.addresseeNumber)
        .executeTakeFirst();
      if (!row) return 'unknown';
      if (row.individual_number === input.to) return 'already';
      if (row.individual_number !== input.from) return 'conflict';
      const other = await trx
        .selectFrom('addressees')
        .select('addressee_number')
        .where('individual_number', '=', input.to)
        .executeTakeFirst();
      if (other) return 'conflict';
      await trx
        .insertInto('replaced_individual_numbers')
        .values({
          individual_number: input.from,
          addressee_number: input.addresseeNumber,
          replaced_at: input.at.toISOString(),
          notice_id: input.noticeId,
        })
        .onConflict((oc) => oc.column('individual_number').doNothing())
        .execute();
      await trx
        .updateTable('addressees')
        .set({ individual_number: input.to })
        .where('addressee_number', '=', input.addresseeNumber)
        .execute();
      return 'replaced';
    });
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('addressees')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
