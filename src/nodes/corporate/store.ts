/**
 * The corporate-number service's storage port: what the service needs of a database, whatever the
 * database (`kysely-store.ts` adapts SQLite and PostgreSQL to it).
 */
import type { CorporationEntry } from '../../domain/corporations/corporation.ts';
import type { CorporateNumber } from '../../domain/identifiers/corporate-number.ts';

/** An entry to append: everything but its sequence number and the latest flag. */
export type NewEntry = Omit<CorporationEntry, 'sequenceNumber' | 'latest'>;

export interface SearchQuery {
  /** The search key of what was typed (`searchKey`); matched anywhere in name, フリガナ or English name. */
  key?: string;
  kind?: string;
  prefectureCode?: string;
  includeClosed: boolean;
  /** Numbers after this one (the page cursor). */
  after?: string;
  limit: number;
}

export interface CorporateStore {
  /** Append `entry` as the corporation's latest; `exists` when designating a number already used. */
  append(entry: NewEntry, searchKey: string, designation: boolean): Promise<CorporationEntry | 'exists'>;
  latest(number: CorporateNumber): Promise<CorporationEntry | undefined>;
  history(number: CorporateNumber): Promise<CorporationEntry[]>;
  search(query: SearchQuery): Promise<CorporationEntry[]>;
  /** History entries whose change date is in [from, to], in sequence order, after `after`. */
  changes(from: string, to: string, after: number | undefined, limit: number): Promise<CorporationEntry[]>;
  /** The next base of the service's own series (from `first` the first time). */
  nextBase(first: number): Promise<string>;
  count(): Promise<number>;
}
