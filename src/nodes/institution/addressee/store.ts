import type { IndividualNumber } from '../../../domain/identifiers/index.ts';
import type { AddresseeNumber } from '../../../protocol/identifiers.ts';

/** The outcome of `AddresseeStore.register`, decided atomically inside the store. */
export type Registration =
  | { kind: 'created'; addresseeNumber: AddresseeNumber }
  | { kind: 'existing'; addresseeNumber: AddresseeNumber }
  /** The Individual Number is registered under another addressee number than the one supplied. */
  | { kind: 'individual_number_taken' }
  /** The supplied addressee number belongs to another Individual Number. */
  | { kind: 'addressee_number_taken' };

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
  /** How many persons are registered (for statistics; never who). */
  count(): Promise<number>;
}
