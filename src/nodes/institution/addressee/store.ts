import type { IndividualNumber } from '../../../domain/identifiers/index.ts';
import type { AddresseeNumber } from '../../../protocol/identifiers.ts';

/** The outcome of `AddresseeStore.register`, decided atomically inside the store. */
export type Registration =
  | { kind: 'created'; addresseeNumber: AddresseeNumber }
  | { kind: 'existing'; addresseeNumber: AddresseeNumber }
  /** The Individual Number is registered under another addressee number than the one supplied. */
  | { kind: 'individual_number_taken' }
  /** The supplied addressee number belongs to another Individual Number. */
  | { kind: 'addressee_number_taken' }
  /** The Individual Number was replaced by a number change: it is history, never registered again. */
  | { kind: 'individual_number_replaced' };

/** What `replaceIndividualNumber` did. */
export type NumberReplacement =
  /** The person now has the new number; the old one is kept as replaced. */
  | 'replaced'
  /** The person had the new number already (the notice came again). */
  | 'already'
  /** No person under that addressee number. */
  | 'unknown'
  /** The person holds neither number, or the new one is another person's: nothing changed. */
  | 'conflict';

/**
 * The addressee system's storage port. Implementations: `KyselyAddresseeStore` (SQLite, PostgreSQL).
 * Nothing else in the institution sees the table behind it.
 */
export interface AddresseeStore {
  /**
   * In one transaction: return the person's addressee number if the Individual Number is known, else
   * insert it under `addresseeNumber` (supplied by the business system) or under a number from
   * `allocate` (retried on the rare collision).
   */
  register(input: {
    individualNumber: IndividualNumber;
    addresseeNumber?: AddresseeNumber;
    allocate: () => AddresseeNumber;
    registeredAt: Date;
  }): Promise<Registration>;
  /** The addressee number of a person, if registered. */
  findAddresseeNumber(individualNumber: IndividualNumber): Promise<AddresseeNumber | undefined>;
  /**
   * A number change (番号の変更) told by J-LIS: in one transaction, the person under `addresseeNumber`
   * gets `to` in place of `from`, which is kept as replaced (and refused by `register` from then on).
   */
  replaceIndividualNumber(input: {
    addresseeNumber: AddresseeNumber;
    from: IndividualNumber;
    to: IndividualNumber;
    noticeId: string;
    at: Date;
  }): Promise<NumberReplacement>;
  /** How many persons are registered (for statistics; never who). */
  count(): Promise<number>;
}
