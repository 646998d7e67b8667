import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openSecurityLog } from './security-log.ts';

const dir = mkdtempSync(join(tmpdir(), 'renkei-security-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const refusal = {
  at: '2026-01-05T09:00:00.000Z',
  route: 'admin.listInstitutions',
  partyId: null,
  claimedPartyId: 'operator:registry:former',
  code: 'ERR_CERT_EXPIRED',
  remoteAddress: '127.0.0.1',
};

describe('security log', () => {
  it('keeps the party a refused certificate claims apart from any verified party', async () => {
    const log = await openSecurityLog(join(dir, 'claims.sqlite'));
    try {
      await log.record(refusal);
      await log.record({
        ...refusal,
        partyId: '152048',
        claimedPartyId: null,
        code: 'ERR_IDENTITY_MISMATCH',
      });
      expect(await log.list(10)).toEqual([
        { ...refusal, partyId: '152048', claimedPartyId: null, code: 'ERR_IDENTITY_MISMATCH' },
        refusal,
      ]);
    } finally {
      await log.close();
    }
  });

  it('opens a log written before claimed parties were recorded, its rows claiming none', async () => {
    const file = join(dir, 'before.sqlite');
    const old = new SQLite(file);
    old.exec(`
      CREATE TABLE security_events (id integer PRIMARY KEY AUTOINCREMENT, at text NOT NULL,
        route text NOT NULL, party_id text, code text NOT NULL, remote_address text);
      CREATE TABLE kysely_migration (name varchar(255) NOT NULL PRIMARY KEY, timestamp varchar(255) NOT NULL);
      CREATE TABLE kysely_migration_lock (id varchar(255) NOT NULL PRIMARY KEY, is_locked integer DEFAULT 0 NOT NULL);
      INSERT INTO kysely_migration VALUES ('0001-security-events', '2026-01-01T00:00:00.000Z');
      INSERT INTO security_events (at, route, party_id, code, remote_address)
        VALUES ('2026-01-01T00:00:00.000Z', 'tls.handshake', NULL, 'ERR_TLS_HANDSHAKE', '127.0.0.1');
    `);
    old.close();
    const log = await openSecurityLog(file);
    try {
      expect(await log.list(10)).toEqual([
        {
          at: '2026-01-01T00:00:00.000Z',
          route: 'tls.handshake',
          partyId: null,
          claimedPartyId: null,
          code: 'ERR_TLS_HANDSHAKE',
          remoteAddress: '127.0.0.1',
        },
      ]);
    } finally {
      await log.close();
    }
  });
});
