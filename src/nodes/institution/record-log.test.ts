import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateKeyPair } from 'jose';
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../shared/clock.ts';
import { migrateToLatest, openSqlite, openSqliteReadOnly } from '../../shared/db.ts';
import { silentLogger } from '../../shared/logger.ts';
import type { TreeHeadKey } from '../../trust/merkle/index.ts';
import { KyselyIntermediateStore, type IntermediateDatabase } from './intermediate/kysely-store.ts';
import { intermediateMigrations } from './intermediate/migrations.ts';
import { RecordLogService } from './intermediate/service/record-log.ts';
import {
  harnessInquiry,
  providerRecord,
  provisionRequest,
  registered,
  startClockedHarness,
  TAX_2025,
  type Harness,
} from './test-support.ts';

let keys: { publicKey: TreeHeadKey; privateKey: TreeHeadKey };
beforeAll(async () => {
  keys = await generateKeyPair('ES256');
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function harness(options: { start?: string; retentionYears?: number } = {}) {
  const h = await startClockedHarness(options);
  cleanups.push(() => h.close());
  return h;
}

/** Verify an institution's database read-only, as `renkei records verify` does. */
async function verifyFile(file: string, publicKey?: TreeHeadKey) {
  const db = openSqliteReadOnly<IntermediateDatabase>(file);
  try {
    const store = new KyselyIntermediateStore(db);
    const service = new RecordLogService({
      store,
      clock: fixedClock('2025-06-02T02:00:00Z'),
      logger: silentLogger(),
    });
    return await service.verify(publicKey === undefined ? {} : { publicKey });
  } finally {
    await db.destroy();
  }
}

const intermediateFile = (h: Harness) => join(h.dir, 'institutions', '131041', 'intermediate.sqlite');

describe('the intermediate server record log', () => {
  it('ignores a second answer to the same processing number: the clerk keeps the first', async () => {
    const h = await harness();
    const person = await registered(h);
    const { processingNumber } = await h.client.post<{ processingNumber: string }>(
      '/business/v1/inquiries',
      harnessInquiry(person.addresseeNumber),
    );
    const first = [{ itemNo: 2, layoutVersion: '2025.1', data: TAX_2025 }];
    await h.client.post('/network/v1/answers', {
      processingNumber,
      outcome: 'provided',
      items: first,
      answeredAt: '2025-06-02T01:00:01.000Z',
    });
    // A second answer, as a retried delivery or an attacker would send it, with another figure.
    await h.client.post('/network/v1/answers', {
      processingNumber,
      outcome: 'provided',
      items: [{ itemNo: 2, layoutVersion: '2025.1', data: { ...TAX_2025, taxableIncome: 1 } }],
      answeredAt: '2025-06-02T01:00:02.000Z',
    });
    await h.client.post('/network/v1/answers', {
      processingNumber,
      outcome: 'not_held',
      items: [],
      answeredAt: '2025-06-02T01:00:03.000Z',
    });
    const status = await h.client.get<{ outcome: string; items: unknown; answeredAt: string }>(
      `/business/v1/inquiries/${processingNumber}`,
    );
    expect(status).toMatchObject({
      outcome: 'provided',
      items: first,
      answeredAt: '2025-06-02T01:00:01.000Z',
    });

    await h.stopNode();
    const report = await verifyFile(intermediateFile(h));
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ events: 2, records: 1, heads: { status: 'unsigned' } });
  });

  it('adds an event when a provision request comes again, instead of overwriting the record', async () => {
    const h = await harness();
    const person = await registered(h);
    await h.client.put('/business/v1/copies', {
      addresseeNumber: person.addresseeNumber,
      itemNo: 2,
      data: TAX_2025,
    });
    const request = provisionRequest(person.personCode);
    await h.client.post('/network/v1/provision-requests', request);
    await h.business.deleteCopy({ params: { addresseeNumber: person.addresseeNumber, itemNo: 2 } });
    await h.client.post('/network/v1/provision-requests', request);

    await h.stopNode();
    const db = new Database(intermediateFile(h), { readonly: true });
    const events = db
      .prepare(`SELECT event FROM record_events WHERE role = 'provider' ORDER BY idx`)
      .all() as { event: string }[];
    const row = db.prepare('SELECT outcome FROM provider_records').get() as { outcome: string };
    db.close();
    expect(events.map((e) => e.event)).toEqual(['provided', 'not_held']);
    expect(row.outcome).toBe('not_held');
    expect((await verifyFile(intermediateFile(h))).findings).toEqual([]);
  });

  it('purges old records to their leaf hashes, and the log still verifies', async () => {
    const h = await harness({ start: '2018-04-01T00:00:00Z', retentionYears: 7 });
    const person = await registered(h);
    await h.client.post('/network/v1/provision-requests', provisionRequest(person.personCode));
    await h.client.post('/business/v1/inquiries', harnessInquiry(person.addresseeNumber));
    h.clock.set('2025-04-01T00:00:01Z');
    await h.client.post('/network/v1/provision-requests', provisionRequest(person.personCode));
    expect(await h.client.post('/business/v1/provision-records/purge', {})).toMatchObject({
      requester: 1,
      provider: 1,
    });
    await h.stopNode();
    const report = await verifyFile(intermediateFile(h));
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ events: 3, purged: 2, records: 1 });
  });
});

describe('the intermediate server record log, signed', () => {
  async function signedStore() {
    const dir = mkdtempSync(join(tmpdir(), 'renkei-intermediate-log-'));
    const file = join(dir, 'intermediate.sqlite');
    const db = openSqlite<IntermediateDatabase>(file);
    await migrateToLatest(db as unknown as Kysely<unknown>, intermediateMigrations);
    const store = new KyselyIntermediateStore(db);
    const service = new RecordLogService({
      store,
      clock: fixedClock('2025-06-02T01:00:00Z'),
      logger: silentLogger(),
      signer: { key: keys.privateKey, kid: '131041' },
      everyAppends: 2,
      everyMs: 0,
    });
    cleanups.push(async () => {
      await db.destroy().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });
    const close = async () => {
      await service.close();
      await db.destroy();
    };
    return { file, store, close };
  }

  it('signs heads as records are written and at close, and verifies clean with its key', async () => {
    const { file, store, close } = await signedStore();
    for (let i = 0; i < 3; i++) await store.recordProvision(providerRecord());
    await close();
    const report = await verifyFile(file, keys.publicKey);
    expect(report.findings).toEqual([]);
    // One head at two events (unless the third came first) and one at close, over all three.
    expect(report).toMatchObject({ events: 3, heads: { status: 'signed' } });
    expect(report.heads.stored).toBeGreaterThanOrEqual(1);
    expect(report.heads.verified).toBe(report.heads.stored);
  });

  it('names a deleted event, an edited record row and two swapped events', async () => {
    const { file, store, close } = await signedStore();
    const pns = [uuidv7(), uuidv7(), uuidv7(), uuidv7()];
    for (const pn of pns) await store.recordProvision(providerRecord({ processingNumber: pn }));
    await close();
    const db = new Database(file);
    db.prepare('DELETE FROM record_events WHERE idx = 0').run();
    db.prepare(`UPDATE provider_records SET outcome = 'not_held' WHERE processing_number = ?`).run(pns[1]);
    const rows = db
      .prepare('SELECT idx, processing_number, body FROM record_events WHERE idx IN (2, 3)')
      .all() as {
      idx: number;
      processing_number: string;
      body: string;
    }[];
    const swap = db.prepare('UPDATE record_events SET processing_number = ?, body = ? WHERE idx = ?');
    swap.run(rows[1]?.processing_number, rows[1]?.body, 2);
    swap.run(rows[0]?.processing_number, rows[0]?.body, 3);
    db.close();

    const report = await verifyFile(file, keys.publicKey);
    const named = report.findings.map((f) => `${f.kind} ${String(f.index ?? f.processingNumber)}`);
    expect(named).toEqual(
      expect.arrayContaining([
        'leaf-missing 0',
        'leaf-moved 2',
        'leaf-moved 3',
        `record-differs ${String(pns[1])}`,
        // The first record lost its only event: its row stands alone.
        `record-without-events ${String(pns[0])}`,
        'head-root-mismatch undefined',
      ]),
    );
  });
});
