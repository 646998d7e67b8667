/**
 * The consoles' storage port: staff accounts and their browser sessions, in the database of the node
 * that serves the console (`kysely-store.ts` adapts SQLite and PostgreSQL to it). A node adds the
 * tables with `CONSOLE_MIGRATION` under a named migration of its own list.
 */
import type { SessionStore } from '../sessions.ts';

/** Who may use which console: a node says which roles it accepts (the institution: `clerk`). */
export const CONSOLE_ROLES = ['clerk', 'operator', 'oversight'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

export interface ConsoleAccountRow {
  /** The login id: 3-32 lower-case letters, digits, `-`, `_` or `.`; unique in the node. */
  accountId: string;
  displayName: string;
  role: ConsoleRole;
  /** A clerk's institution: the console of another institution refuses the account. */
  institutionId: string | undefined;
  /** `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64url): see `passwords.ts`. */
  passwordHash: string;
  createdAt: Date;
  disabledAt: Date | undefined;
  /** Failed logins since the last success (the slow-down and the lock count these). */
  failedLogins: number;
  /** No login is tried before this (slowed down or locked after failures). */
  notBefore: Date | undefined;
}

export interface ConsoleStore extends SessionStore {
  /** Store a new account; false when the id is taken (nothing changed). */
  insertAccount(row: ConsoleAccountRow): Promise<boolean>;
  findAccount(accountId: string): Promise<ConsoleAccountRow | undefined>;
  /** Every account, by id. */
  listAccounts(): Promise<ConsoleAccountRow[]>;
  /** Disable an account (once) and end its sessions; false when there is no such account. */
  disableAccount(accountId: string, at: Date): Promise<boolean>;
  /** After a login: the failures counted and when the next try may be made. */
  setLoginThrottle(accountId: string, failedLogins: number, notBefore: Date | undefined): Promise<void>;
}
