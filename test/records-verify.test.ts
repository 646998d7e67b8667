/**
 * Tamper-evident provision records on the demo network: the seeds' scenarios run on a real network,
 * the network stops, and then rows are deleted, edited and reordered directly in each party's
 * database file (the core, a requester, a provider), as someone with the files but not the nodes
 * would. `renkei records verify` must name each change: the party, the log index, what is wrong. An
 * untouched network, and one whose records the retention purge removed, verify clean.
 *
 * One network, run once; each tampering works on its own copy of the stopped data directory.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteCoreStore } from '../src/nodes/core/kysely-store.ts';
import { RecordService as CoreRecords } from '../src/nodes/core/service/records.ts';
import {
  KyselyIntermediateStore,
  type IntermediateDatabase,
} from '../src/nodes/institution/intermediate/kysely-store.ts';
import { RecordService as IntermediateRecords } from '../src/nodes/institution/intermediate/service/records.ts';
import { verifyNetworkRecords, type NetworkReport } from '../src/network/records.ts';
import { DEMO_SCENARIOS, runScenario } from '../src/network/scenarios.ts';
import { fixedClock } from '../src/shared/clock.ts';
import { openSqlite } from '../src/shared/db.ts';
import { KyselyMerkleStore, recordLogDb } from '../src/shared/record-log-tables.ts';
import { createMerkleLog } from '../src/trust/merkle/index.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { providerRecord } from '../src/nodes/institution/test-support.ts';
import { startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'renkei.js');
const REQUESTER = '152048'; // 三条市, the requester of scenario a
const PROVIDER = '131041'; // 新宿区, its provider

let demo: DemoNetwork | undefined;
const copies: string[] = [];

beforeAll(async () => {
  demo = await startDemoNetwork('records');
  for (const scenario of DEMO_SCENARIOS) await runScenario(demo.network, demo.world, scenario);
  await demo.network.close();
});

afterAll(async () => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
  await demo?.dispose();
});

/** A copy of the stopped network's data directory, to tamper with. */
function copyNetwork(): string {
  if (!demo) throw new Error('no network');
  const dir = mkdtempSync(join(tmpdir(), 'renkei-records-copy-'));
  copies.push(dir);
  cpSync(demo.dir, dir, { recursive: true });
  return dir;
}

const PARTIES = {
  core: (dir: string) => join(dir, 'core', 'core.sqlite'),
  requester: (dir: string) => join(dir, 'institutions', REQUESTER, 'intermediate.sqlite'),
  provider: (dir: string) => join(dir, 'institutions', PROVIDER, 'intermediate.sqlite'),
};
const PARTY_ID = { core: 'core', requester: REQUESTER, provider: PROVIDER };
type Party = keyof typeof PARTIES;

function withDb<T>(file: string, act: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return act(db);
  } finally {
    db.close();
  }
}

/** The log index of an event at `party` that records a provision (of scenario a). */
function providedEvent(db: Database.Database, party: Party): number {
  const where = {
    core: `event = 'answered'`,
    requester: `event = 'answer_received' AND role = 'requester'`,
    provider: `event = 'provided' AND role = 'provider'`,
  }[party];
  const row = db
    .prepare(`SELECT idx FROM record_events WHERE ${where} AND body LIKE '%"provided"%' ORDER BY idx LIMIT 1`)
    .get() as { idx: number } | undefined;
  if (row === undefined) throw new Error(`no provided event at the ${party}`);
  return row.idx;
}

const TAMPERING = {
  /** A row deleted: its index is missing from the log. */
  delete(db: Database.Database, party: Party) {
    const idx = providedEvent(db, party);
    db.prepare('DELETE FROM record_events WHERE idx = ?').run(idx);
    return {
      indices: [idx],
      kinds: ['leaf-missing'],
      words: [`No record claims log index ${String(idx)}: a row was deleted.`],
    };
  },
  /** A row edited: the provision turned into "not held", in the event and in the record row. */
  edit(db: Database.Database, party: Party) {
    const idx = providedEvent(db, party);
    db.prepare(`UPDATE record_events SET body = replace(body, '"provided"', '"not_held"') WHERE idx = ?`).run(
      idx,
    );
    return {
      indices: [idx],
      kinds: ['leaf-hash-mismatch'],
      words: [
        `The record at log index ${String(idx)} does not match its stored leaf hash: the record or the hash was edited.`,
      ],
    };
  },
  /** Two rows reordered: each takes the other's whole content, its index kept. */
  reorder(db: Database.Database, party: Party) {
    const a = providedEvent(db, party);
    const b = (
      db.prepare('SELECT MIN(idx) AS idx FROM record_events WHERE idx > ?').get(a) as { idx: number }
    ).idx;
    const rows = db
      .prepare('SELECT * FROM record_events WHERE idx IN (?, ?) ORDER BY idx')
      .all(a, b) as Record<string, unknown>[];
    const put = db.prepare(
      'UPDATE record_events SET processing_number = ?, role = ?, event = ?, at = ?, body = ? WHERE idx = ?',
    );
    const [first, second] = rows as [Record<string, unknown>, Record<string, unknown>];
    const values = (r: Record<string, unknown>) => [r.processing_number, r.role, r.event, r.at, r.body];
    put.run(...values(second), a);
    put.run(...values(first), b);
    return {
      indices: [a, b],
      kinds: ['leaf-moved'],
      words: [
        `The record at log index ${String(a)} is the one logged at index ${String(b)}: rows were reordered.`,
        `The record at log index ${String(b)} is the one logged at index ${String(a)}: rows were reordered.`,
      ],
    };
  },
};

/** `renkei …` as a person runs it: its exit code and what it printed. */
async function run(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '' };
  }
}

function findingsOf(report: NetworkReport) {
  return [...report.parties.flatMap((p) => p.findings), ...report.exchanges.findings];
}

describe('renkei records verify on the demo network', () => {
  it('verifies an untouched network clean: every party, and every exchange across parties', async () => {
    const report = await verifyNetworkRecords({ dataDir: copyNetwork() });
    expect(findingsOf(report)).toEqual([]);
    expect(report.ok).toBe(true);
    const byParty = new Map(report.parties.map((p) => [p.party, p]));
    expect(byParty.get('core')?.events).toBeGreaterThan(10);
    expect(byParty.get(REQUESTER)?.events).toBeGreaterThan(0);
    expect(byParty.get(PROVIDER)?.events).toBeGreaterThan(0);
    expect(report.exchanges.checked).toBeGreaterThan(5);
    // Each node signs its heads with its identity key, checked against its certificate from the PKI.
    expect(byParty.get('core')?.heads.status).toBe('signed');
    expect(byParty.get(PROVIDER)?.heads.status).toBe('signed');
  });

  for (const party of Object.keys(PARTIES) as Party[]) {
    for (const how of Object.keys(TAMPERING) as (keyof typeof TAMPERING)[]) {
      it(`detects and names a ${how === 'edit' ? 'row edited' : how === 'delete' ? 'row deleted' : 'pair of rows reordered'} in the ${party}'s database`, async () => {
        const dir = copyNetwork();
        const done = withDb(PARTIES[party](dir), (db) => TAMPERING[how](db, party));
        const report = await verifyNetworkRecords({ dataDir: dir });
        expect(report.ok).toBe(false);
        const named = findingsOf(report).filter((f) => f.party === PARTY_ID[party]);
        for (const index of done.indices) {
          expect(
            named.filter((f) => f.index === index).map((f) => f.kind),
            `${party} ${how} at ${String(index)}`,
          ).toEqual(expect.arrayContaining(done.kinds));
        }
        // And in the words an auditor reads, naming the rows.
        expect(named.map((f) => f.message)).toEqual(expect.arrayContaining(done.words));
        // Nothing is blamed on a party that was not touched, except disagreements with the one that was.
        for (const f of findingsOf(report).filter((f) => f.party !== PARTY_ID[party])) {
          expect(f.kind, f.message).toMatch(/^exchange-/);
        }
      });
    }
  }

  it('names an edited record row even when the log is intact', async () => {
    const dir = copyNetwork();
    const pn = withDb(PARTIES.provider(dir), (db) => {
      const row = db
        .prepare(`SELECT processing_number FROM provider_records WHERE outcome = 'provided'`)
        .get() as {
        processing_number: string;
      };
      db.prepare(`UPDATE provider_records SET outcome = 'not_held' WHERE processing_number = ?`).run(
        row.processing_number,
      );
      return row.processing_number;
    });
    const report = await verifyNetworkRecords({ dataDir: dir, party: PROVIDER });
    expect(report.parties.map((p) => p.party)).toEqual([PROVIDER]);
    expect(findingsOf(report)).toEqual([
      expect.objectContaining({ party: PROVIDER, kind: 'record-differs', processingNumber: pn }),
    ]);
    // The words `records verify` prints are its output as much as the kinds: an auditor acts on them.
    expect(findingsOf(report)[0]?.message).toBe(
      `The provider record ${pn} does not match its logged events (outcome): the row or an event was edited.`,
    );
  });

  it('catches a provider that rewrote its record, its event and its whole Merkle log consistently, by the core’s record', async () => {
    const dir = copyNetwork();
    const file = PARTIES.provider(dir);
    const pn = withDb(file, (db) => {
      const idx = providedEvent(db, 'provider');
      const row = db.prepare('SELECT processing_number FROM record_events WHERE idx = ?').get(idx) as {
        processing_number: string;
      };
      db.prepare(
        `UPDATE record_events SET body = replace(replace(body, '"provided"', '"not_held"'), '"providedItemNos":[2]', '"providedItemNos":[]'), event = 'not_held' WHERE idx = ?`,
      ).run(idx);
      db.prepare(
        `UPDATE provider_records SET outcome = 'not_held', provided_item_nos = '[]' WHERE processing_number = ?`,
      ).run(row.processing_number);
      db.prepare('DELETE FROM merkle_nodes').run();
      return row.processing_number;
    });
    const db = openSqlite<IntermediateDatabase>(file);
    try {
      const bodies = (await db.selectFrom('record_events').select('body').orderBy('idx').execute()).map((r) =>
        new TextEncoder().encode(r.body ?? ''),
      );
      await createMerkleLog({ store: new KyselyMerkleStore(recordLogDb(db)) }).append(bodies);
    } finally {
      await db.destroy();
    }
    const report = await verifyNetworkRecords({ dataDir: dir, party: PROVIDER });
    // Its own heads, signed before the rewrite, contradict the rebuilt log…
    expect(report.parties[0]?.findings.map((f) => f.kind)).toEqual(
      expect.arrayContaining([expect.stringMatching(/head/)]),
    );
    // …but the core recorded the exchange as provided.
    expect(report.exchanges.findings).toEqual([
      expect.objectContaining({ party: PROVIDER, kind: 'exchange-outcome-disagrees', processingNumber: pn }),
    ]);
    expect(report.exchanges.findings[0]?.message).toBe(
      `${PROVIDER} recorded provision ${pn} as not_held; the core recorded provided.`,
    );
  });

  it('names a provision a provider recorded that the core never sent it, as the oversight cross-check does', async () => {
    const dir = copyNetwork();
    // Recorded through the provider's own store, as a provider logging a provision made outside the
    // network would: under a processing number the core never gave.
    const db = openSqlite<IntermediateDatabase>(PARTIES.provider(dir));
    const outside = providerRecord({ requestedAt: new Date().toISOString() });
    try {
      await new KyselyIntermediateStore(db).recordProvision(outside);
    } finally {
      await db.destroy();
    }
    const report = await verifyNetworkRecords({ dataDir: dir, party: PROVIDER });
    expect(report.exchanges.findings).toEqual([
      {
        party: PROVIDER,
        kind: 'exchange-unknown-at-core',
        processingNumber: outside.processingNumber,
        message: `${PROVIDER} recorded a provision for ${outside.processingNumber}, which the core never sent to anyone.`,
        detail: { role: 'provider', atCore: false },
      },
    ]);
  });

  it('verifies clean after the retention purge has removed every record, leaving their leaf hashes', async () => {
    const dir = copyNetwork();
    const later = fixedClock(new Date(Date.now() + 8 * 365 * 24 * 3600_000));
    const core = await openSqliteCoreStore(PARTIES.core(dir));
    try {
      expect(await new CoreRecords({ store: core, clock: later }).purgeExpiredRecords()).toBeGreaterThan(0);
    } finally {
      await core.close();
    }
    // Every party purges at the same age; the network is verified as it is today.
    let purgedAtInstitutions = 0;
    for (const id of readdirSync(join(dir, 'institutions'))) {
      const db = openSqlite<IntermediateDatabase>(join(dir, 'institutions', id, 'intermediate.sqlite'));
      try {
        const records = new IntermediateRecords({
          store: new KyselyIntermediateStore(db),
          clock: later,
          logger: silentLogger(),
        });
        const purged = await records.purgeProvisionRecords();
        purgedAtInstitutions += purged.requester + purged.provider;
      } finally {
        await db.destroy();
      }
    }
    expect(purgedAtInstitutions).toBeGreaterThan(0);
    const report = await verifyNetworkRecords({ dataDir: dir });
    expect(findingsOf(report)).toEqual([]);
    const coreReport = report.parties.find((p) => p.party === 'core');
    expect(coreReport?.records).toBe(0);
    expect(coreReport?.purged).toBe(coreReport?.events);
  });

  it('prints a table and every finding in words from the command line, exiting 1', async () => {
    const clean = await run(['--data-dir', copyNetwork(), 'records', 'verify']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('Every record verifies.');

    const dir = copyNetwork();
    const { indices } = withDb(PARTIES.core(dir), (db) => TAMPERING.delete(db, 'core'));
    const tampered = await run(['--data-dir', dir, 'records', 'verify', '--party', 'core']);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/│ core\s+│/);
    expect(tampered.stdout).toContain(
      `core, log index ${String(indices[0])}: No record claims log index ${String(indices[0])}: a row was deleted.`,
    );
  });
});

describe('renkei records show', () => {
  /** The processing number of scenario a's provided inquiry, from the requester's record. */
  function providedInquiry(dir: string): string {
    return withDb(PARTIES.requester(dir), (db) => {
      const row = db
        .prepare(`SELECT processing_number FROM requester_records WHERE outcome = 'provided' LIMIT 1`)
        .get() as { processing_number: string } | undefined;
      if (!row) throw new Error('no provided inquiry at the requester');
      return row.processing_number;
    });
  }

  const archive = (dir: string, party: Party) => join(dirname(PARTIES[party](dir)), 'messages.sqlite');

  it('prints every signed message each party kept of the exchange, each signature checked and each answer tied to its request', async () => {
    const dir = copyNetwork();
    const processingNumber = providedInquiry(dir);
    const shown = await run(['--data-dir', dir, 'records', 'show', processingNumber]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).not.toContain('INVALID');
    // Who asked what and who answered, at each of the three parties, from the messages they signed.
    const at = (party: string) => {
      const start = shown.stdout.indexOf(`signed messages kept by ${party} `);
      expect(start).toBeGreaterThanOrEqual(0);
      const end = shown.stdout.indexOf('signed messages kept by', start + 1);
      return shown.stdout.slice(start, end < 0 ? undefined : end);
    };
    const row = (direction: string, type: string, from: string, to: string, answers = '') =>
      new RegExp(`│ ${direction}\\s+│ ${type}\\s+│ ${from} → ${to}\\s+│ valid\\s+│ ${answers}`);
    expect(at(REQUESTER)).toMatch(row('sent', 'InquiryRequest', REQUESTER, 'core'));
    expect(at(REQUESTER)).toMatch(row('received', 'InquiryAccepted', 'core', REQUESTER, 'InquiryRequest'));
    expect(at(REQUESTER)).toMatch(row('received', 'AnswerDelivery', 'core', REQUESTER));
    expect(at('core')).toMatch(row('received', 'InquiryRequest', REQUESTER, 'core'));
    expect(at('core')).toMatch(row('sent', 'ProvisionRequest', 'core', PROVIDER));
    expect(at('core')).toMatch(row('received', 'ProvisionAnswer', PROVIDER, 'core', 'ProvisionRequest'));
    expect(at('core')).toMatch(row('sent', 'AnswerDelivery', 'core', REQUESTER));
    expect(at(PROVIDER)).toMatch(row('received', 'ProvisionRequest', 'core', PROVIDER));
    expect(at(PROVIDER)).toMatch(row('sent', 'ProvisionAnswer', PROVIDER, 'core', 'ProvisionRequest'));
  });

  it('names a kept message whose signed content was altered, and exits 1', async () => {
    const dir = copyNetwork();
    const processingNumber = providedInquiry(dir);
    withDb(archive(dir, 'provider'), (db) => {
      const kept = db
        .prepare(
          `SELECT id, jws FROM signed_messages WHERE processing_number = ? AND type = 'ProvisionAnswer'`,
        )
        .get(processingNumber) as { id: number; jws: string };
      // The provider rewrites what it answered (a claim in the payload), keeping the old signature.
      const [header, payload, signature] = kept.jws.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { msg: { outcome: string } };
      claims.msg.outcome = 'not_held';
      const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
      db.prepare('UPDATE signed_messages SET jws = ? WHERE id = ?').run(forged, kept.id);
    });
    const shown = await run(['--data-dir', dir, 'records', 'show', processingNumber]);
    expect(shown.code).toBe(1);
    expect(shown.stdout).toMatch(
      /ProvisionAnswer .*INVALID: its hash is not the hash of its JWS; its signature does not verify \(ERR_SIGNATURE_INVALID\)/,
    );
    expect(shown.stdout).toContain('1 signed message(s) do not check');
  });
});
