import type { Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { merkleStoreContract } from '../trust/merkle/store-contract.ts';
import { createMerkleLog, leafHash, toHex, type MerkleStore } from '../trust/merkle/index.ts';
import { migrateToLatest, openSqlite } from './db.ts';
import {
  createRecordLogTables,
  insertRecordEvents,
  KyselyMerkleStore,
  listRecordEvents,
  tombstoneRecordEvents,
  type RecordLogTables,
} from './record-log-tables.ts';

const opened: Kysely<RecordLogTables>[] = [];
afterAll(async () => {
  for (const db of opened) await db.destroy();
});

async function freshDatabase(): Promise<Kysely<RecordLogTables>> {
  const db = openSqlite<RecordLogTables>(':memory:');
  opened.push(db);
  await migrateToLatest(db as unknown as Kysely<unknown>, {
    '0001': { up: (d) => createRecordLogTables(d) },
  });
  return db;
}

// The type check that the structural store is the library's port.
const asPort = (store: KyselyMerkleStore): MerkleStore => store;

merkleStoreContract('SQLite (Kysely)', async () => asPort(new KyselyMerkleStore(await freshDatabase())));

describe('record log tables', () => {
  it('appends in the caller transaction: a rolled-back record leaves no leaf behind', async () => {
    const db = await freshDatabase();
    const leaf = new TextEncoder().encode('{"event":"accepted"}');
    await expect(
      db.transaction().execute(async (trx) => {
        await createMerkleLog({ store: new KyselyMerkleStore(trx) }).append([leaf]);
        throw new Error('the record write failed');
      }),
    ).rejects.toThrow('the record write failed');
    expect(await new KyselyMerkleStore(db).size()).toBe(0);
  });

  it('keeps a purged event as its leaf hash and nothing else', async () => {
    const db = await freshDatabase();
    const body = '{"event":"accepted","processingNumber":"p"}';
    await insertRecordEvents(db, [
      { idx: 0, processingNumber: 'p', role: 'core', event: 'accepted', at: '2020-01-01', body },
    ]);
    const hash = leafHash(new TextEncoder().encode(body));
    await tombstoneRecordEvents(db, [{ idx: 0, leafHash: hash }]);
    const [row] = await listRecordEvents(db, -1, 10);
    expect(row).toEqual({ idx: 0, body: null, leafHash: expect.any(Uint8Array) as unknown });
    expect(row?.body === null && row.leafHash !== null && toHex(row.leafHash)).toBe(toHex(hash));
  });
});
