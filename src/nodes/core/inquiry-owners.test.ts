/**
 * Several core processes over one database (`workers:`): each unfinished inquiry has an owner, and a
 * process resumes only what no live process carries, so that every inquiry is answered once. Run on
 * SQLite (two stores over one file stand for two processes) and on PostgreSQL in its run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeDatabase, type PostgresOption } from '../../shared/db.ts';
import { dropTestSchemas, testPostgres } from '../../shared/test-databases.ts';
import { openCoreStore, type KyselyCoreStore } from './kysely-store.ts';
import { pendingInquiry } from './test-support.ts';

let dir: string;
let postgres: PostgresOption | undefined;
const open: KyselyCoreStore[] = [];
let now = new Date('2026-01-01T00:00:00.000Z');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-owners-'));
  postgres = testPostgres();
  now = new Date('2026-01-01T00:00:00.000Z');
});
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  await dropTestSchemas(postgres);
  rmSync(dir, { recursive: true, force: true });
});

/** A core process's store; one opened first alone migrates the database. */
async function worker(id: string | undefined): Promise<KyselyCoreStore> {
  const store = await openCoreStore(
    nodeDatabase(postgres, join(dir, 'core.sqlite'), 'core'),
    id === undefined ? undefined : { id, now: () => now },
  );
  open.push(store);
  return store;
}

async function writePendingInquiry(store: KyselyCoreStore): Promise<string> {
  const processingNumber = uuidv7();
  await store.recordInquiry(...pendingInquiry(processingNumber, now.toISOString()));
  return processingNumber;
}

const lease = (seconds: number) => new Date(now.getTime() + seconds * 1000);
const numbers = async (store: KyselyCoreStore) =>
  (await store.listUndelivered()).map((u) => u.record.processingNumber);

describe('inquiries in flight at several core processes', () => {
  it("never resumes a live process's inquiries, and resumes a dead one's exactly once", async () => {
    await worker(undefined);
    const a = await worker('host#1');
    const b = await worker('host#2');
    const c = await worker('host#3');
    await a.renewLease(lease(30));
    await b.renewLease(lease(30));
    await c.renewLease(lease(30));
    const carried = await writePendingInquiry(a);

    expect(await numbers(b)).toEqual([]); // a is alive: its inquiry is its own
    now = lease(31); // a stops renewing (it died); b and c go on
    await b.renewLease(lease(30));
    await c.renewLease(lease(30));
    const [first, second] = await Promise.all([numbers(b), numbers(c)]);
    expect([...first, ...second]).toEqual([carried]); // one of them, never both
    expect(await numbers(b)).toEqual([]);
    expect(await numbers(c)).toEqual([]);
  });

  it('resumes at once what a previous run under the same id carried, without waiting for its lease', async () => {
    await worker(undefined);
    const before = await worker('host#1');
    const other = await worker('host#2');
    await before.renewLease(lease(30));
    await other.renewLease(lease(30));
    const carried = await writePendingInquiry(before);
    // host#1 is killed and started again at once: it forgets its old lease, then resumes.
    const after = await worker('host#1');
    await after.dropLease();
    expect(await numbers(after)).toEqual([carried]);
    await after.renewLease(lease(30));
    expect(await numbers(other)).toEqual([]);
  });

  it('leaves to a survivor what a process that stopped cleanly still carried', async () => {
    await worker(undefined);
    const leaving = await worker('host#1');
    const staying = await worker('host#2');
    await leaving.renewLease(lease(30));
    await staying.renewLease(lease(30));
    const carried = await writePendingInquiry(leaving);
    await leaving.close(); // drops its lease
    open.splice(open.indexOf(leaving), 1);
    expect(await numbers(staying)).toEqual([carried]);
  });

  it('resumes every unfinished inquiry when the core runs alone, as before', async () => {
    const alone = await worker(undefined);
    const first = await writePendingInquiry(alone);
    const second = await writePendingInquiry(alone);
    expect((await numbers(alone)).sort()).toEqual([first, second].sort());
  });

  it('refuses a message replayed to another process of the core (the replay guard is shared)', async () => {
    await worker(undefined);
    const a = (await worker('host#1')).replayGuard(() => now);
    const b = (await worker('host#2')).replayGuard(() => now);
    const expires = lease(330);
    const results = await Promise.all([
      a.checkAndRemember('152048 m-1', expires),
      b.checkAndRemember('152048 m-1', expires),
    ]);
    expect(results.sort()).toEqual([false, true]);
    expect(await b.checkAndRemember('152048 m-2', expires)).toBe(true);
    expect(await a.checkAndRemember('152048 m-2', expires)).toBe(false);
  });
});
