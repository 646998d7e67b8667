/**
 * Staff accounts of a node's console: made, listed and disabled by `renkei console-accounts`, and the
 * login itself with its throttle.
 *
 * The throttle. Per account (in the database, so it holds across restarts and a node's processes):
 * after `slowAfter` failures in a row, each further try must wait, 1 s, 2 s, 4 s… up to 60 s after the
 * last failure; after `lockAfter` failures the account is locked for `lockMs`. A login tried too early is
 * refused (ERR_LOGIN_THROTTLED) without its password being checked, so guessing cannot go faster
 * than the wait. A success resets the count. Per address (in memory, bounded): the same with higher
 * thresholds, so that one address trying many login ids is slowed down too. We considered sleeping
 * before answering a failure instead, but a sleeping request holds a connection and tells an
 * attacker nothing it cannot get by opening more; a refusal until a time is cheaper and testable
 * with a fixed clock.
 */
import { randomBytes } from 'node:crypto';
import { RenkeiError } from '../../errors.ts';
import type { Clock } from '../../clock.ts';
import { DEFAULT_SCRYPT, hashPassword, verifyPassword, type ScryptParameters } from './passwords.ts';
import { CONSOLE_ROLES, type ConsoleAccountRow, type ConsoleRole, type ConsoleStore } from './store.ts';

export const ACCOUNT_ID = /^[a-z0-9][a-z0-9._-]{2,31}$/;

export interface ThrottlePolicy {
  slowAfter: number;
  lockAfter: number;
  lockMs: number;
  /** The longest wait while slowed down. */
  maxDelayMs: number;
}

export const ACCOUNT_THROTTLE: ThrottlePolicy = {
  slowAfter: 3,
  lockAfter: 10,
  lockMs: 15 * 60_000,
  maxDelayMs: 60_000,
};
export const ADDRESS_THROTTLE: ThrottlePolicy = {
  slowAfter: 10,
  lockAfter: 30,
  lockMs: 15 * 60_000,
  maxDelayMs: 60_000,
};

/** When the next try may be made after `failures` failures in a row, the last one at `at`. */
export function nextTryAt(policy: ThrottlePolicy, failures: number, at: Date): Date | undefined {
  if (failures >= policy.lockAfter) return new Date(at.getTime() + policy.lockMs);
  if (failures >= policy.slowAfter) {
    return new Date(at.getTime() + Math.min(1000 * 2 ** (failures - policy.slowAfter), policy.maxDelayMs));
  }
  return undefined;
}

/** An account as listed and as a logged-in session sees it: never its hash. */
export interface ConsoleAccount {
  accountId: string;
  displayName: string;
  role: ConsoleRole;
  institutionId: string | undefined;
  createdAt: Date;
  disabledAt: Date | undefined;
  /** Locked (or slowed down) until then, after failed logins. */
  notBefore: Date | undefined;
}

function view(row: ConsoleAccountRow): ConsoleAccount {
  return {
    accountId: row.accountId,
    displayName: row.displayName,
    role: row.role,
    institutionId: row.institutionId,
    createdAt: row.createdAt,
    disabledAt: row.disabledAt,
    notBefore: row.notBefore,
  };
}

export interface AccountServiceDeps {
  store: ConsoleStore;
  clock: Clock;
  scrypt?: ScryptParameters;
  accountThrottle?: ThrottlePolicy;
  addressThrottle?: ThrottlePolicy;
  /** Addresses whose failures are remembered at most (the oldest forgotten first). */
  maxAddresses?: number;
}

export class AccountService {
  /** A hash of no one's password at this service's parameters: checked for an unknown login id. */
  private decoy: Promise<string> | undefined;
  private readonly addresses = new Map<string, { failures: number; notBefore: Date | undefined; at: Date }>();

  constructor(private readonly deps: AccountServiceDeps) {}

  /**
   * A new account. Errors: ERR_VALIDATION (an id, role or password that will not do; a clerk with no
   * institution), ERR_DUPLICATE (the id is taken).
   */
  async create(input: {
    accountId: string;
    displayName: string;
    role: string;
    institutionId?: string | undefined;
    password: string;
  }): Promise<ConsoleAccount> {
    if (!ACCOUNT_ID.test(input.accountId)) {
      throw new RenkeiError(
        'ERR_VALIDATION',
        'An account id is 3-32 lower-case letters, digits, ".", "-" or "_", beginning with a letter or digit.',
      );
    }
    if (!(CONSOLE_ROLES as readonly string[]).includes(input.role)) {
      throw new RenkeiError('ERR_VALIDATION', `The role must be one of ${CONSOLE_ROLES.join(', ')}.`);
    }
    if (input.role === 'clerk' && !input.institutionId) {
      throw new RenkeiError('ERR_VALIDATION', 'A clerk account names its institution.');
    }
    const displayName = input.displayName.trim();
    if (displayName.length === 0 || displayName.length > 64) {
      throw new RenkeiError('ERR_VALIDATION', 'A display name has 1 to 64 characters.');
    }
    if (input.password.length < 12 || input.password.length > 128) {
      throw new RenkeiError('ERR_VALIDATION', 'A password has 12 to 128 characters.');
    }
    const row: ConsoleAccountRow = {
      accountId: input.accountId,
      displayName,
      role: input.role as ConsoleRole,
      institutionId: input.institutionId || undefined,
      passwordHash: await hashPassword(input.password, this.deps.scrypt ?? DEFAULT_SCRYPT),
      createdAt: this.deps.clock.now(),
      disabledAt: undefined,
      failedLogins: 0,
      notBefore: undefined,
    };
    if (!(await this.deps.store.insertAccount(row))) {
      throw new RenkeiError('ERR_DUPLICATE', `There is an account "${input.accountId}" already.`);
    }
    return view(row);
  }

  async list(): Promise<ConsoleAccount[]> {
    return (await this.deps.store.listAccounts()).map(view);
  }

  /** The account, if it exists and is not disabled. */
  async findActive(accountId: string): Promise<ConsoleAccount | undefined> {
    const row = await this.deps.store.findAccount(accountId);
    return row && row.disabledAt === undefined ? view(row) : undefined;
  }

  /** Disable an account and end its sessions at once. Errors: ERR_VALIDATION (no such account). */
  async disable(accountId: string): Promise<void> {
    if (!(await this.deps.store.disableAccount(accountId, this.deps.clock.now()))) {
      throw new RenkeiError('ERR_VALIDATION', `There is no account "${accountId}".`);
    }
  }

  /**
   * A login: the account when the password is right. Errors: ERR_LOGIN_THROTTLED (too early after
   * failures, from this account or this address: `details.retryAfterSeconds`), ERR_LOGIN_FAILED (no
   * such account, a disabled one, or a wrong password: one answer for all, so that the refusal tells
   * nothing of which ids exist).
   */
  async login(accountId: string, password: string, address: string | null): Promise<ConsoleAccount> {
    const now = this.deps.clock.now();
    const accountThrottle = this.deps.accountThrottle ?? ACCOUNT_THROTTLE;
    const addressThrottle = this.deps.addressThrottle ?? ADDRESS_THROTTLE;
    const byAddress = address === null ? undefined : this.addresses.get(address);
    if (byAddress?.notBefore && now < byAddress.notBefore) throw throttled(now, byAddress.notBefore);
    const row = ACCOUNT_ID.test(accountId) ? await this.deps.store.findAccount(accountId) : undefined;
    if (row?.notBefore && now < row.notBefore) throw throttled(now, row.notBefore);
    // An unknown id costs the same scrypt as a known one, so the time taken tells nothing.
    this.decoy ??= hashPassword(randomBytes(16).toString('hex'), this.deps.scrypt ?? DEFAULT_SCRYPT);
    const right = await verifyPassword(password.slice(0, 256), row?.passwordHash ?? (await this.decoy));
    if (row && right && row.disabledAt === undefined) {
      if (row.failedLogins > 0) await this.deps.store.setLoginThrottle(row.accountId, 0, undefined);
      if (address !== null) this.addresses.delete(address);
      return view(row);
    }
    if (row) {
      const failures = row.failedLogins + 1;
      await this.deps.store.setLoginThrottle(
        row.accountId,
        failures,
        nextTryAt(accountThrottle, failures, now),
      );
    }
    if (address !== null) this.failedFrom(address, addressThrottle, now);
    throw new RenkeiError('ERR_LOGIN_FAILED', 'The login id or the password is wrong.');
  }

  private failedFrom(address: string, policy: ThrottlePolicy, now: Date): void {
    const failures = (this.addresses.get(address)?.failures ?? 0) + 1;
    this.addresses.delete(address);
    this.addresses.set(address, { failures, notBefore: nextTryAt(policy, failures, now), at: now });
    const max = this.deps.maxAddresses ?? 10_000;
    while (this.addresses.size > max) {
      const oldest = this.addresses.keys().next().value;
      if (oldest === undefined) break;
      this.addresses.delete(oldest);
    }
  }
}

function throttled(now: Date, notBefore: Date): RenkeiError {
  const retryAfterSeconds = Math.ceil((notBefore.getTime() - now.getTime()) / 1000);
  return new RenkeiError(
    'ERR_LOGIN_THROTTLED',
    `Too many failed logins: try again in ${retryAfterSeconds} seconds.`,
    { retryAfterSeconds },
  );
}
