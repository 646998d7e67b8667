/**
 * Staff accounts of the consoles, on the store port over a real database (SQLite always, PostgreSQL in
 * the storage run): scrypt hashes, the login throttle (slowed down, then locked), sessions' idle and
 * absolute expiry, and a disabled account's sessions ending at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../clock.ts';
import { migrateToLatest, nodeDatabase, openDatabase } from '../../db.ts';
import { RenkeiError } from '../../errors.ts';
import { dropTestSchemas, testPostgres } from '../../test-databases.ts';
import { SessionService } from '../sessions.ts';
import { AccountService, ACCOUNT_THROTTLE, nextTryAt } from './accounts.ts';
import { CONSOLE_MIGRATION, createKyselyConsoleStore, type ConsoleDatabase } from './kysely-store.ts';
import { DEFAULT_SCRYPT, hashPassword, verifyPassword } from './passwords.ts';
import type { ConsoleStore } from './store.ts';

const FAST = { log2N: 10, r: 8, p: 1 };
const postgres = testPostgres();
let dir: string;
let db: Kysely<ConsoleDatabase>;
let store: ConsoleStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-console-accounts-'));
  db = await openDatabase<ConsoleDatabase>(nodeDatabase(postgres, join(dir, 'console.sqlite'), 'console'));
  await migrateToLatest(db as unknown as Kysely<unknown>, { '0001_console_accounts': CONSOLE_MIGRATION });
  store = createKyselyConsoleStore(db);
});

afterAll(async () => {
  await db?.destroy();
  await dropTestSchemas(postgres);
  rmSync(dir, { recursive: true, force: true });
});

async function refusal(promise: Promise<unknown>): Promise<RenkeiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RenkeiError)) throw new Error(`expected a RenkeiError, got ${String(error)}`);
  return error;
}

describe('passwords', () => {
  it('hashes with scrypt at the stated parameters, salted, and verifies only the right password', async () => {
    const hash = await hashPassword('correct horse battery', DEFAULT_SCRYPT);
    expect(hash).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(hash).not.toContain('correct horse');
    expect(await hashPassword('correct horse battery', DEFAULT_SCRYPT)).not.toBe(hash);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
    expect(await verifyPassword('correct horse battery', 'plain text')).toBe(false);
  });
});

describe('console accounts', () => {
  it('stores no password, refuses a short one, a clerk without institution and a taken id', async () => {
    const clock = fixedClock('2026-05-01T00:00:00Z');
    const accounts = new AccountService({ store, clock, scrypt: FAST });
    await accounts.create({
      accountId: 'clerk-a',
      displayName: '窓口 A',
      role: 'clerk',
      institutionId: '152048',
      password: 'a long enough password',
    });
    const row = await store.findAccount('clerk-a');
    expect(row?.passwordHash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(row)).not.toContain('a long enough password');
    expect(
      (
        await refusal(
          accounts.create({
            accountId: 'x1',
            displayName: 'x',
            role: 'clerk',
            institutionId: '1',
            password: 'p'.repeat(12),
          }),
        )
      ).code,
    ).toBe('ERR_VALIDATION');
    expect(
      (
        await refusal(
          accounts.create({
            accountId: 'clerk-b',
            displayName: 'b',
            role: 'clerk',
            password: 'p'.repeat(12),
          }),
        )
      ).code,
    ).toBe('ERR_VALIDATION');
    expect(
      (
        await refusal(
          accounts.create({
            accountId: 'clerk-b',
            displayName: 'b',
            role: 'clerk',
            institutionId: '1',
            password: 'short',
          }),
        )
      ).code,
    ).toBe('ERR_VALIDATION');
    expect(
      (
        await refusal(
          accounts.create({
            accountId: 'clerk-a',
            displayName: 'a',
            role: 'operator',
            password: 'p'.repeat(12),
          }),
        )
      ).code,
    ).toBe('ERR_DUPLICATE');
    expect((await accounts.list()).map((a) => a.accountId)).toContain('clerk-a');
  });

  it('slows down a guessed account after 3 failures, locks it after 10, and a success resets it', async () => {
    const clock = fixedClock('2026-05-02T00:00:00Z');
    const accounts = new AccountService({ store, clock, scrypt: FAST });
    await accounts.create({
      accountId: 'clerk-guessed',
      displayName: 'g',
      role: 'clerk',
      institutionId: '152048',
      password: 'the right password',
    });
    for (let i = 1; i <= 3; i++) {
      expect((await refusal(accounts.login('clerk-guessed', `wrong ${i}`, null))).code).toBe(
        'ERR_LOGIN_FAILED',
      );
    }
    // Slowed down: even the right password is not checked before the wait is over.
    const early = await refusal(accounts.login('clerk-guessed', 'the right password', null));
    expect(early.code).toBe('ERR_LOGIN_THROTTLED');
    expect(early.details.retryAfterSeconds).toBe(1);
    for (let i = 4; i <= 10; i++) {
      clock.advance(61_000);
      expect((await refusal(accounts.login('clerk-guessed', `wrong ${i}`, null))).code).toBe(
        'ERR_LOGIN_FAILED',
      );
    }
    clock.advance(14 * 60_000);
    const locked = await refusal(accounts.login('clerk-guessed', 'the right password', null));
    expect(locked.code).toBe('ERR_LOGIN_THROTTLED');
    expect(locked.details.retryAfterSeconds).toBe(60);
    clock.advance(61_000);
    expect((await accounts.login('clerk-guessed', 'the right password', null)).accountId).toBe(
      'clerk-guessed',
    );
    expect((await store.findAccount('clerk-guessed'))?.failedLogins).toBe(0);
  });

  it('slows down one address trying many login ids, known or not', async () => {
    const clock = fixedClock('2026-05-03T00:00:00Z');
    const accounts = new AccountService({ store, clock, scrypt: FAST });
    for (let i = 0; i < 10; i++) {
      expect((await refusal(accounts.login(`nobody-${i}`, 'guess', '203.0.113.9'))).code).toBe(
        'ERR_LOGIN_FAILED',
      );
    }
    expect((await refusal(accounts.login('clerk-a', 'a long enough password', '203.0.113.9'))).code).toBe(
      'ERR_LOGIN_THROTTLED',
    );
    // Another address is not held up.
    expect((await accounts.login('clerk-a', 'a long enough password', '198.51.100.1')).accountId).toBe(
      'clerk-a',
    );
  });

  it('gives the wait as the throttle policy says', () => {
    const at = new Date('2026-05-01T00:00:00Z');
    expect(nextTryAt(ACCOUNT_THROTTLE, 2, at)).toBeUndefined();
    expect(nextTryAt(ACCOUNT_THROTTLE, 4, at)?.getTime()).toBe(at.getTime() + 2000);
    expect(nextTryAt(ACCOUNT_THROTTLE, 9, at)?.getTime()).toBe(at.getTime() + 60_000);
    expect(nextTryAt(ACCOUNT_THROTTLE, 10, at)?.getTime()).toBe(at.getTime() + 15 * 60_000);
  });

  it('ends a session after its idle time, after its absolute time, and when the account is disabled', async () => {
    const clock = fixedClock('2026-05-04T00:00:00Z');
    const accounts = new AccountService({ store, clock, scrypt: FAST });
    await accounts.create({
      accountId: 'clerk-s',
      displayName: 's',
      role: 'clerk',
      institutionId: '152048',
      password: 'session password',
    });
    const sessions = new SessionService({
      store,
      clock,
      policy: { idleMs: 15 * 60_000, absoluteMs: 3600_000 },
    });
    const idle = await sessions.create('clerk-s');
    clock.advance(15 * 60_000);
    expect(await sessions.find(idle.token)).toBeUndefined();

    const busy = await sessions.create('clerk-s');
    for (let i = 0; i < 4; i++) {
      clock.advance(14 * 60_000);
      expect((await sessions.find(busy.token))?.subjectId).toBe('clerk-s');
    }
    clock.advance(14 * 60_000);
    expect(await sessions.find(busy.token)).toBeUndefined(); // 70 minutes: past the absolute hour

    const live = await sessions.create('clerk-s');
    expect(await sessions.find(live.token)).toBeDefined();
    await accounts.disable('clerk-s');
    expect(await sessions.find(live.token)).toBeUndefined();
    expect(await accounts.findActive('clerk-s')).toBeUndefined();
    expect((await refusal(accounts.login('clerk-s', 'session password', null))).code).toBe(
      'ERR_LOGIN_FAILED',
    );
  });
});
