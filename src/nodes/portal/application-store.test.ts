/**
 * ぴったりサービス's storage (`kysely-application-store.ts`) on a real database, run once per dialect
 * (vitest.config.ts's STORAGE_SUITES): SQLite always, PostgreSQL when `RENKEI_TEST_POSTGRES` is set.
 * The signing request moves once from each state; a municipality sees only its own applications; the
 * first download's time stays; bytes come back byte for byte.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeDatabase, openDatabase } from '../../shared/db.ts';
import { dropTestSchemas, testDialect, testPostgres } from '../../shared/test-databases.ts';
import type { ApplicationRow, ApplicationStore } from './application-store.ts';
import { createKyselyApplicationStore } from './kysely-application-store.ts';
import type { PortalDatabase } from './kysely-store.ts';
import { migratePortalDatabase } from './migrations.ts';

const dir = mkdtempSync(join(tmpdir(), 'renkei-portal-applications-store-'));
const postgres = testPostgres();
let db: Kysely<PortalDatabase>;
let store: ApplicationStore;

beforeAll(async () => {
  db = await openDatabase<PortalDatabase>(nodeDatabase(postgres, join(dir, 'portal.sqlite'), 'portal'));
  await migratePortalDatabase(db);
  store = createKyselyApplicationStore(db as unknown as Kysely<unknown>);
  // The persons the rows refer to (a foreign key), as a first login makes them.
  await db
    .insertInto('persons')
    .values(
      ['p-1', 'p-2'].map((id) => ({
        person_id: id,
        person_code: id.padEnd(44, 'A'),
        created_at: at(0).toISOString(),
      })),
    )
    .execute();
});

afterAll(async () => {
  await db?.destroy();
  await dropTestSchemas(postgres);
  rmSync(dir, { recursive: true, force: true });
});

const at = (minute: number) => new Date(Date.UTC(2026, 10, 27, 3, minute));
/** Every byte value, so that an encoding that drops or changes one is caught. */
const ALL_BYTES = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));

function application(
  number: string,
  municipalityId: string,
  minute: number,
  personId = 'p-1',
): ApplicationRow {
  return {
    applicationNumber: number,
    municipalityId,
    procedureId: 'kosodate-01',
    procedureName: '児童手当等の受給資格及び児童手当の額についての認定請求',
    legalProcedureId: minute % 2 === 0 ? '074-01' : undefined,
    personId,
    content: new Uint8Array(Buffer.from(`{"n":"${number}","name":"山田 一郎"}`, 'utf8')),
    signedData: ALL_BYTES,
    signingSerial: '0a1b',
    authenticationSerial: '2c3d',
    receivedAt: at(minute),
    downloadedAt: undefined,
  };
}

describe(`ぴったりサービス's storage on ${testDialect()}`, () => {
  it('moves a signing request once from each state, and purges the expired', async () => {
    await store.insertSigningRequest({
      requestId: 'r-1',
      personId: 'p-1',
      municipalityId: '152048',
      procedureId: 'kosodate-01',
      content: ALL_BYTES,
      createdAt: at(0),
      expiresAt: at(10),
      state: 'pending',
      applicationNumber: undefined,
    });
    expect(await store.findSigningRequest('r-1')).toMatchObject({ state: 'pending', content: ALL_BYTES });
    const claims = await Promise.all([
      store.moveSigningRequest('r-1', 'pending', 'claimed'),
      store.moveSigningRequest('r-1', 'pending', 'claimed'),
    ]);
    expect(claims.sort()).toEqual([false, true]);
    expect(await store.moveSigningRequest('r-1', 'claimed', 'done', '20261127-AAAAAAAA')).toBe(true);
    expect(await store.findSigningRequest('r-1')).toMatchObject({
      state: 'done',
      applicationNumber: '20261127-AAAAAAAA',
    });
    expect(await store.purgeSigningRequests(at(10))).toBe(0);
    expect(await store.purgeSigningRequests(at(11))).toBe(1);
    expect(await store.findSigningRequest('r-1')).toBeUndefined();
  });

  it('keeps each municipality’s applications its own, newest first, bytes intact', async () => {
    await store.insertApplication(application('20261127-AAAAAAA1', '152048', 1));
    await store.insertApplication(application('20261127-AAAAAAA2', '152048', 2, 'p-2'));
    await store.insertApplication(application('20261127-AAAAAAA3', '131041', 3));
    const sanjo = await store.listApplications('152048', { limit: 10 });
    expect(sanjo.map((a) => a.applicationNumber)).toEqual(['20261127-AAAAAAA2', '20261127-AAAAAAA1']);
    expect(sanjo[0]).toMatchObject({
      signedData: ALL_BYTES,
      legalProcedureId: '074-01',
      downloadedAt: undefined,
    });
    expect(sanjo[1]?.legalProcedureId).toBeUndefined();
    expect(Buffer.from(sanjo[1]!.content).toString('utf8')).toContain('山田 一郎');
    expect(await store.findApplication('131041', '20261127-AAAAAAA1')).toBeUndefined();
    expect(await store.findApplication('152048', '20261127-AAAAAAA1')).toMatchObject({ personId: 'p-1' });
    expect((await store.listApplications('152048', { limit: 1 })).length).toBe(1);
    const mine = await store.listPersonApplications('p-1', 10);
    expect(mine.map((a) => a.applicationNumber)).toEqual(['20261127-AAAAAAA3', '20261127-AAAAAAA1']);
  });

  it('marks downloaded once (the first time stays), for the municipality’s own only', async () => {
    await store.markDownloaded('131041', ['20261127-AAAAAAA1'], at(20));
    expect((await store.findApplication('152048', '20261127-AAAAAAA1'))?.downloadedAt).toBeUndefined();
    await store.markDownloaded('152048', ['20261127-AAAAAAA1'], at(21));
    await store.markDownloaded('152048', ['20261127-AAAAAAA1', '20261127-AAAAAAA2'], at(22));
    await store.markDownloaded('152048', [], at(23));
    expect((await store.findApplication('152048', '20261127-AAAAAAA1'))?.downloadedAt).toEqual(at(21));
    expect((await store.findApplication('152048', '20261127-AAAAAAA2'))?.downloadedAt).toEqual(at(22));
    expect(await store.listApplications('152048', { downloaded: false, limit: 10 })).toEqual([]);
    expect((await store.listApplications('152048', { downloaded: true, limit: 10 })).length).toBe(2);
    expect((await store.listApplications('131041', { downloaded: false, limit: 10 })).length).toBe(1);
  });
});
