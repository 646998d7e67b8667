import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateKeyPair } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { InquiryRequest } from '../../protocol/messages.ts';
import { silentLogger } from '../../shared/logger.ts';
import {
  createMerkleLog,
  fromHex,
  leafHash,
  nodeHash,
  verifyInclusion,
  verifyTreeHead,
  type TreeHeadKey,
} from '../../trust/merkle/index.ts';
import { openSqliteCoreStore } from './kysely-store.ts';
import { RecordLogService } from './service/record-log.ts';
import { startTwoMunicipalities, type TestCore, type TwoMunicipalities } from './test-support.ts';

let keys: { publicKey: TreeHeadKey; privateKey: TreeHeadKey };
let otherKeys: { publicKey: TreeHeadKey; privateKey: TreeHeadKey };
beforeAll(async () => {
  keys = await generateKeyPair('ES256');
  otherKeys = await generateKeyPair('ES256');
});

let net: TwoMunicipalities;
let core: TestCore;
let code: string;

beforeEach(async () => {
  net = await startTwoMunicipalities({
    recordLog: { signer: { key: keys.privateKey, kid: 'core' }, everyMs: 0 },
  });
  ({ core, code } = net);
});

afterEach(() => net.dispose());

const inquire = (overrides: Partial<InquiryRequest> = {}): Promise<string> => net.inquireSettled(overrides);

/** Stop the core (it signs a last head), then verify its database as `renkei records verify` does. */
async function stopAndVerify(tamper?: (db: Database.Database) => void, publicKey = keys.publicKey) {
  await core.close();
  const file = join(core.dir, 'core.sqlite');
  if (tamper) {
    const db = new Database(file);
    try {
      tamper(db);
    } finally {
      db.close();
    }
  }
  const store = await openSqliteCoreStore(file);
  try {
    return await new RecordLogService({ store, clock: core.clock, logger: silentLogger() }).verify({
      publicKey,
    });
  } finally {
    await store.close();
  }
}

const kinds = (report: { findings: { kind: string }[] }) => report.findings.map((f) => f.kind);

describe('the core record log', () => {
  it('logs every change of a record as an event, and verifies clean against its signed heads', async () => {
    const provided = await inquire();
    const refused = await inquire({ clauseNo: '999' });
    const report = await stopAndVerify();
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ events: 4, records: 2, heads: { status: 'signed', stored: 1 } });

    const db = new Database(join(core.dir, 'core.sqlite'), { readonly: true });
    const events = db.prepare('SELECT idx, processing_number, event, body FROM record_events').all() as {
      idx: number;
      processing_number: string;
      event: string;
      body: string;
    }[];
    db.close();
    expect(events.map((e) => [e.idx, e.processing_number, e.event])).toEqual([
      [0, provided, 'accepted'],
      [1, provided, 'answered'],
      [2, provided, 'delivery'],
      [3, refused, 'refused'],
    ]);
    // Never a code, never an item's data.
    for (const e of events) {
      expect(e.body).not.toContain(code);
      expect(e.body).not.toContain('ITEM-MARKER');
    }
  });

  it('appends nothing when a second outcome or delivery arrives for a record already settled', async () => {
    const pn = await inquire();
    const direct = await openSqliteCoreStore(join(core.dir, 'core.sqlite'));
    try {
      expect(await direct.recordOutcome(pn, 'not_held', null, '2025-06-01T02:00:00.000Z')).toBe(false);
      await direct.recordDelivery(pn, 'failed', 9, '2025-06-01T02:00:00.000Z');
      expect((await direct.listRecordEvents(-1, 10)).length).toBe(3);
      expect((await direct.findRecord(pn))?.record.outcome).toBe('provided');
    } finally {
      await direct.close();
    }
  });

  it('names a record row edited behind the log', async () => {
    const pn = await inquire();
    const report = await stopAndVerify((db) =>
      db.prepare(`UPDATE provision_records SET outcome = 'not_held' WHERE processing_number = ?`).run(pn),
    );
    expect(kinds(report)).toEqual(['record-differs']);
    expect(report.findings[0]?.message).toContain(pn);
    expect(report.findings[0]?.message).toContain('outcome');
  });

  it('catches an attacker who rewrites an event and every stored hash to match, by the signed head', async () => {
    await inquire();
    const report = await stopAndVerify((db) => {
      const body = (db.prepare('SELECT body FROM record_events WHERE idx = 1').get() as { body: string })
        .body;
      const forged = body.replace('"provided"', '"not_held"');
      db.prepare('UPDATE record_events SET body = ? WHERE idx = 1').run(forged);
      db.prepare(`UPDATE provision_records SET outcome = 'not_held'`).run();
      // Recompute the leaf and every node above it, as a careful attacker would.
      const leaves = (
        db.prepare('SELECT body FROM record_events ORDER BY idx').all() as { body: string }[]
      ).map((r) => leafHash(new TextEncoder().encode(r.body)));
      const [l0, l1] = leaves as [Uint8Array, Uint8Array];
      const set = db.prepare('UPDATE merkle_nodes SET hash = ? WHERE level = ? AND idx = ?');
      set.run(Buffer.from(l1), 0, 1);
      set.run(Buffer.from(nodeHash(l0, l1)), 1, 0);
    });
    // Rows and stored tree agree with each other, so only the head, signed before, shows it.
    expect(kinds(report)).toEqual(['head-root-mismatch', 'store-root-mismatch']);
  });

  it('refuses a head forged with another key, and says heads were not checked without a key', async () => {
    await inquire();
    const forged = await stopAndVerify(undefined, otherKeys.publicKey);
    expect(kinds(forged)).toEqual(['head-signature-invalid']);

    const store = await openSqliteCoreStore(join(core.dir, 'core.sqlite'));
    try {
      const unchecked = await new RecordLogService({
        store,
        clock: core.clock,
        logger: silentLogger(),
      }).verify();
      expect(unchecked).toMatchObject({
        findings: [],
        heads: { status: 'unchecked', stored: 1, verified: 0 },
      });
    } finally {
      await store.close();
    }
  });

  it('purges a record to its leaf hashes: the log, its signed heads and an old proof still verify', async () => {
    core.clock.set('2017-01-01T00:00:00.000Z');
    const old = await inquire();
    core.clock.set('2025-06-01T01:00:00.000Z');
    await core.core.recordLog.signHead();
    const kept = await inquire();
    const purged = await core.core.services.records.purgeExpiredRecords();
    expect(purged).toBe(1);

    const report = await stopAndVerify();
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ events: 6, purged: 3, records: 1 });

    const store = await openSqliteCoreStore(join(core.dir, 'core.sqlite'));
    try {
      const heads = await store.listTreeHeads();
      const first = await verifyTreeHead(heads[0]?.jws ?? '', keys.publicKey);
      const [tombstone] = await store.listRecordEvents(-1, 1);
      const proof = await createMerkleLog({ store: store.merkleStore() }).inclusionProof(0, first.treeSize);
      expect(tombstone?.body).toBeNull();
      const hash = tombstone?.body === null ? tombstone.leafHash : null;
      expect(verifyInclusion(0, first.treeSize, hash ?? new Uint8Array(), proof, first.rootHash)).toBe(true);
      expect(await store.findRecord(old)).toBeUndefined();
      expect((await store.findRecord(kept))?.record.outcome).toBe('provided');
      expect(fromHex(heads[0]?.rootHash ?? '')).toEqual(first.rootHash);
    } finally {
      await store.close();
    }
  });
});
