/**
 * The oversight cross-check's view of an institution's tree heads over time, against a real
 * institution record store (SQLite, its own migrations and Merkle log) answering the core's record
 * checks over real HTTP, and a real network PKI: the core keeps every head it is given and asks for a
 * consistency proof from the last one, so a log rewritten in the institution's database (rows deleted
 * and appended again through SQL, a new head signed with the institution's own key) is found; and a
 * head signed under the institution's earlier certificate, before it was issued a new one, still
 * verifies while that certificate was valid at the head's time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startTestCoreConsole,
  testOversight,
  startTwoMunicipalities,
  type TestCore,
} from '../src/nodes/core/test-support.ts';
import pino from 'pino';
import { checkHeadHistory } from '../src/nodes/core/service/head-history.ts';
import { HeadWatch, type HeadWatchResult } from '../src/nodes/core/service/head-watch.ts';
import type { OversightService } from '../src/nodes/core/service/oversight.ts';
import {
  KyselyIntermediateStore,
  type IntermediateDatabase,
} from '../src/nodes/institution/intermediate/kysely-store.ts';
import { intermediateMigrations } from '../src/nodes/institution/intermediate/migrations.ts';
import { RecordLogService } from '../src/nodes/institution/intermediate/service/record-log.ts';
import { providerRecord } from '../src/nodes/institution/test-support.ts';
import { fixedClock } from '../src/shared/clock.ts';
import { migrateToLatest, openSqlite } from '../src/shared/db.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { createMemoryMerkleStore, createMerkleLog, signTreeHead, toHex } from '../src/trust/merkle/index.ts';
import { initPki, issuePartyCertificates, revokeCertificate } from '../src/trust/pki/authority.ts';
import { partyPaths } from '../src/trust/pki/files.ts';
import { loadSigningKey } from '../src/trust/pki/keys.ts';
import { partyHeadKey } from '../src/trust/pki/party-key.ts';

const PASSWORD = 'correct horse battery';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A core with two stand-in institutions and one exchange between them; the requester (131016) answers
 * record checks from a real intermediate store whose heads it signs with its identity key from a
 * real PKI; the console of the oversight commission over it, checking heads with that PKI.
 */
async function network() {
  const dir = mkdtempSync(join(tmpdir(), 'renkei-oversight-heads-'));
  // The institution's and the CA's time; the core's (and its console sessions') stays fixed.
  const clock = fixedClock('2025-06-01T01:00:00Z');
  const pkiDir = join(dir, 'pki');
  await initPki({ dir: pkiDir, clock });
  const first = await issuePartyCertificates({ dir: pkiDir, partyId: '131016', role: 'institution', clock });
  const firstKey = await loadSigningKey(first.files.identityKey);

  const net = await startTwoMunicipalities();
  cleanups.push(async () => {
    await net.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const { core, x, a } = net;
  await net.inquire([2]);
  await core.core.whenIdle();

  const file = join(dir, 'intermediate.sqlite');
  const db = openSqlite<IntermediateDatabase>(file);
  await migrateToLatest(db as unknown as Kysely<unknown>, intermediateMigrations);
  const store = new KyselyIntermediateStore(db);
  const recordLog = new RecordLogService({
    store,
    clock,
    logger: silentLogger(),
    signer: { key: firstKey, kid: first.identity.serial },
    everyAppends: 1_000,
    everyMs: 0,
  });
  cleanups.push(async () => {
    await recordLog.close();
    await db.destroy();
  });
  x.onRecordCheck = (request) => recordLog.check(request.processingNumbers, request.since);
  a.onRecordCheck = () => ({ treeHead: null, requester: [], provider: [] });

  const provisions = async (n: number) => {
    for (let i = 0; i < n; i++)
      await store.recordProvision(providerRecord({ requestedAt: '2025-06-01T01:00:00.000Z' }));
    await recordLog.signHead();
  };
  return { core, x, a, clock, pkiDir, first, firstKey, file, store, recordLog, provisions };
}

function oversightOf(core: TestCore, pkiDir: string): OversightService {
  return testOversight(core, (id, kid, at) => partyHeadKey(pkiDir, id, kid, at));
}

async function consoleOf(core: TestCore, pkiDir: string): Promise<FastifyInstance> {
  const web = await startTestCoreConsole(core, {
    accounts: [{ accountId: 'ppc', displayName: '委員会', role: 'oversight' }],
    password: PASSWORD,
    pkiDir,
  });
  cleanups.push(() => web.close());
  return web;
}

/** Log in as the oversight commission and post the cross-check form, in `lang` (`run: false`: only open it). */
async function crossCheckPage(web: FastifyInstance, lang: 'ja' | 'en', run = true): Promise<string> {
  const cookies = new Map<string, string>([['lang', lang]]);
  const take = (r: LightMyRequestResponse) => {
    for (const c of r.cookies) cookies.set(c.name, c.value);
  };
  const header = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const form = await web.inject({ method: 'GET', url: '/login', headers: { cookie: header() } });
  take(form);
  const csrf = (body: string) => /name="_csrf" value="([^"]+)"/.exec(body)?.[1] ?? '';
  const form2 = 'application/x-www-form-urlencoded';
  const login = await web.inject({
    method: 'POST',
    url: '/login',
    headers: { cookie: header(), 'content-type': form2 },
    payload: new URLSearchParams({ _csrf: csrf(form.body), loginId: 'ppc', password: PASSWORD }).toString(),
  });
  expect(login.statusCode).toBe(303);
  take(login);
  const page = await web.inject({
    method: 'GET',
    url: '/oversight/cross-check',
    headers: { cookie: header() },
  });
  take(page);
  if (!run) {
    expect(page.statusCode, page.body).toBe(200);
    return page.body;
  }
  const done = await web.inject({
    method: 'POST',
    url: '/oversight/cross-check',
    headers: { cookie: header(), 'content-type': form2 },
    payload: new URLSearchParams({ _csrf: csrf(page.body), limit: '50' }).toString(),
  });
  expect(done.statusCode, done.body).toBe(200);
  return done.body;
}

const partyOf = (result: Awaited<ReturnType<OversightService['crossCheck']>>) =>
  result.parties.find((p) => p.institutionId === '131016');
const headFindings = (result: Awaited<ReturnType<OversightService['crossCheck']>>) =>
  result.findings.filter((f) => f.kind.startsWith('head-') || f.kind === 'certificate-untrusted');

describe("the oversight cross-check's institution heads over time", () => {
  it('keeps each head an institution gives and finds its log rewritten through SQL, shown in Japanese and English and recorded as a use', async () => {
    const n = await network();
    const oversight = oversightOf(n.core, n.pkiDir);
    await n.provisions(3);

    const first = await oversight.crossCheck({ limit: 10 });
    expect(partyOf(first)).toMatchObject({ headCheck: 'verified', history: 'first' });
    expect(headFindings(first)).toEqual([]);
    expect(n.x.recordChecks.at(-1)?.since).toBeUndefined();

    // The honest case: the log grew; the proof from the kept head verifies.
    await n.provisions(2);
    const grown = await oversight.crossCheck({ limit: 10 });
    expect(n.x.recordChecks.at(-1)?.since).toBe(3);
    expect(partyOf(grown)).toMatchObject({ headCheck: 'verified', history: 'consistent' });
    expect(headFindings(grown)).toEqual([]);
    const again = await oversight.crossCheck({ limit: 10 });
    expect(partyOf(again)?.history).toBe('same');
    expect((await n.core.store.listInstitutionTreeHeads('131016')).map((h) => h.treeSize)).toEqual([3, 5]);

    // Someone with the institution's database and key rewrites its log: every record and leaf deleted,
    // others appended in their place, and a new head signed over them.
    const raw = new Database(n.file);
    raw.exec('DELETE FROM record_events; DELETE FROM merkle_nodes; DELETE FROM provider_records;');
    raw.close();
    await n.provisions(6);
    const rewritten = await oversight.crossCheck({ limit: 10 });
    expect(partyOf(rewritten)).toMatchObject({ headCheck: 'verified', history: 'inconsistent' });
    expect(headFindings(rewritten).map((f) => [f.kind, f.party, f.detail])).toEqual([
      ['head-inconsistent', '131016', { earlierSize: 5, treeSize: 6 }],
    ]);
    // Kept as evidence, with its finding; the next check still proves from the last head that passed.
    const kept = await n.core.store.listInstitutionTreeHeads('131016');
    expect(kept.map((h) => [h.treeSize, h.finding])).toEqual([
      [3, null],
      [5, null],
      [6, 'head-inconsistent'],
    ]);

    // The console says so, in each language, and records its use.
    const web = await consoleOf(n.core, n.pkiDir);
    const ja = await crossCheckPage(web, 'ja');
    expect(ja).toContain('data-kind="head-inconsistent" data-party="131016"');
    expect(ja).toContain(
      '大きさ 6 のツリーヘッドは、以前に回答した大きさ 5 のツリーヘッドと整合しません（ログの書換え）',
    );
    expect(ja).toContain('data-head-history="inconsistent"');
    const en = await crossCheckPage(web, 'en');
    expect(en).toContain('tree head of size 6 is not consistent with the head of size 5 it gave before');
    expect(en).not.toContain('ログの書換え');
    // A use is recorded once answered (the console's onResponse hook): after the page has reached us.
    const crossChecks = async () =>
      (await n.core.store.listOversightUses(50)).filter(
        (u) => u.action === 'POST /oversight/cross-check' && u.accountId === 'ppc',
      );
    for (let i = 0; i < 50 && (await crossChecks()).length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await crossChecks()).toHaveLength(2);
  });

  it('keeps a missing head as evidence, one row by the head it contradicts however often it is seen, and lists it', async () => {
    const n = await network();
    const oversight = oversightOf(n.core, n.pkiDir);
    await n.provisions(3);
    expect(partyOf(await oversight.crossCheck({ limit: 10 }))?.history).toBe('first');
    expect(await n.core.store.listInstitutionTreeHeadFindings(10)).toEqual([]);

    // Its signed heads deleted in its database: it answers none, where it gave one of size 3.
    const raw = new Database(n.file);
    raw.exec('DELETE FROM tree_heads;');
    raw.close();
    for (let i = 0; i < 2; i++) {
      const checked = await oversight.crossCheck({ limit: 10 });
      expect(partyOf(checked)).toMatchObject({ treeHead: null, history: 'head-missing' });
      expect(headFindings(checked).map((f) => [f.kind, f.detail])).toEqual([
        ['head-missing', { earlierSize: 3 }],
      ]);
    }
    expect(await n.core.store.listInstitutionTreeHeadFindings(10)).toEqual([
      expect.objectContaining({
        institutionId: '131016',
        finding: 'head-missing',
        treeSize: null,
        earlierSize: 3,
        times: 2,
      }),
    ]);
    // The head kept last is still the one the next check proves from.
    expect((await n.core.store.findLatestInstitutionTreeHead('131016'))?.treeSize).toBe(3);

    // The console lists it among the heads found wrong, in the page's language, with how often.
    const web = await consoleOf(n.core, n.pkiDir);
    const ja = await crossCheckPage(web, 'ja', false);
    expect(ja).toMatch(/<section id="head-findings" data-count="1">/);
    expect(ja).toContain('<tr data-institution="131016" data-kind="head-missing">');
    expect(ja).toContain('以前は大きさ 3 のツリーヘッドを回答しています（ツリーヘッドの削除）');
    expect(ja).toMatch(/data-times="2">\s*計2回/);
    const en = await crossCheckPage(web, 'en', false);
    expect(en).toContain(
      'answered no tree head, though it gave one of size 3 before (its heads were deleted)',
    );
    expect(en).toMatch(/data-times="2">\s*2 times in all, the last/);
  });

  it('names a smaller tree, a missing proof, a fork of the same size and a missing head', async () => {
    const log = createMerkleLog({ store: createMemoryMerkleStore() });
    const leaf = (i: number) => new TextEncoder().encode(`leaf ${String(i)}`);
    await log.append([0, 1, 2, 3].map(leaf));
    const kept = {
      institutionId: '131016',
      treeSize: 4,
      rootHash: toHex(await log.root(4)),
      timestamp: 1,
      kid: 'a',
      jws: 'a.b.c',
      seenAt: '2025-06-01T01:00:00.000Z',
      finding: null,
    };
    await log.append([4, 5].map(leaf));
    const six = { treeSize: 6, rootHash: toHex(await log.root(6)) };
    const proof = { from: 4, to: 6, proof: (await log.consistencyProof(4, 6)).map(toHex) };
    expect(checkHeadHistory('131016', kept, six, proof).history).toBe('consistent');
    expect(checkHeadHistory('131016', kept, six, undefined).finding?.kind).toBe('head-proof-missing');
    expect(
      checkHeadHistory('131016', kept, six, { ...proof, proof: proof.proof.slice(1) }).finding?.kind,
    ).toBe('head-inconsistent');
    expect(
      checkHeadHistory('131016', kept, { treeSize: 2, rootHash: toHex(await log.root(2)) }, undefined).finding
        ?.kind,
    ).toBe('head-tree-shrank');
    expect(
      checkHeadHistory('131016', kept, { treeSize: 4, rootHash: six.rootHash }, undefined).finding?.kind,
    ).toBe('head-inconsistent');
    expect(checkHeadHistory('131016', kept, undefined, undefined).finding?.kind).toBe('head-missing');
    expect(checkHeadHistory('131016', undefined, six, undefined)).toEqual({ history: 'first' });
  });
});

describe('a head signed under an earlier certificate', () => {
  it('verifies with the earlier certificate while it was valid at the head’s time, and not after its revocation', async () => {
    const n = await network();
    const oversight = oversightOf(n.core, n.pkiDir);
    await n.provisions(2);

    // The institution is issued a new identity certificate (its files replaced) a day later, and has
    // not signed a head since: its latest head is under the earlier one.
    n.clock.advance(24 * 3600_000);
    const second = await issuePartyCertificates({
      dir: n.pkiDir,
      partyId: '131016',
      role: 'institution',
      clock: n.clock,
    });
    expect(second.identity.serial).not.toBe(n.first.identity.serial);
    const old = await oversight.crossCheck({ limit: 10 });
    expect(partyOf(old)?.headCheck).toBe('verified-earlier');
    expect(headFindings(old)).toEqual([]);

    // The earlier certificate revoked (superseded) the next day: the head signed before still stands.
    n.clock.advance(24 * 3600_000);
    await revokeCertificate({
      dir: n.pkiDir,
      serial: n.first.identity.serial,
      reason: 'superseded',
      clock: n.clock,
    });
    expect(partyOf(await oversight.crossCheck({ limit: 10 }))?.headCheck).toBe('verified-earlier');

    // A head signed with the earlier key after its revocation is refused, and named.
    n.clock.advance(3600_000);
    const late = await signTreeHead(
      { treeSize: 2, rootHash: new Uint8Array(32), timestamp: n.clock.now().getTime() },
      n.firstKey,
      n.first.identity.serial,
    );
    n.x.onRecordCheck = () => ({
      treeHead: { treeSize: 2, timestamp: n.clock.now().getTime(), kid: n.first.identity.serial, jws: late },
      requester: [],
      provider: [],
    });
    const refused = await oversight.crossCheck({ limit: 10 });
    expect(partyOf(refused)?.headCheck).toBe('refused');
    expect(headFindings(refused).map((f) => f.kind)).toEqual(['head-after-revocation']);

    // The PKI's answers for the other cases: a serial it never issued to the party, a head before
    // the certificate's validity, a key revoked as compromised.
    const at = new Date(n.clock.now());
    expect(await partyHeadKey(n.pkiDir, '131016', 'abcdef', at)).toMatchObject({
      status: 'refused',
      kind: 'head-key-unknown',
    });
    expect(
      await partyHeadKey(n.pkiDir, '131016', second.identity.serial, new Date('2025-01-01T00:00:00Z')),
    ).toMatchObject({
      status: 'refused',
      kind: 'head-outside-validity',
    });
    expect(await partyHeadKey(n.pkiDir, '131016', second.identity.serial, at)).toMatchObject({
      status: 'usable',
      current: true,
    });
    await revokeCertificate({
      dir: n.pkiDir,
      serial: second.identity.serial,
      reason: 'keyCompromise',
      clock: n.clock,
    });
    expect(
      await partyHeadKey(n.pkiDir, '131016', second.identity.serial, new Date('2025-06-02T02:00:00Z')),
    ).toMatchObject({ status: 'refused', kind: 'head-key-compromised' });
    // The copy the PKI keeps of each certificate is where the earlier key comes from.
    expect(partyPaths(n.pkiDir, '131016').certificates).toContain('certificates');
  });
});

describe("the core's head watch", () => {
  /** A watch over the test core, as the core's main starts it, its log lines and results kept. */
  function watchOf(core: TestCore, pkiDir: string) {
    const lines: Record<string, unknown>[] = [];
    const results: HeadWatchResult[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const watch = new HeadWatch({
      registry: core.core.services.registry,
      recordChecks: core.core.services.recordChecks,
      store: core.store,
      clock: core.clock,
      logger,
      headKeyOf: (id, kid, at) => partyHeadKey(pkiDir, id, kid, at),
      onResult: (result) => results.push(result),
    });
    cleanups.push(() => watch.close());
    return { watch, lines, results };
  }
  const resultOf = (watched: Awaited<ReturnType<HeadWatch['watchOnce']>>, id: string) =>
    watched.find((w) => w.institutionId === id);

  it('finds a log rewritten between two cross-checks, with no check run, and logs it without a record', async () => {
    const n = await network();
    const { watch, lines, results } = watchOf(n.core, n.pkiDir);
    await n.provisions(3);

    // Every institution of the registry is asked for its head alone: no processing number.
    const first = await watch.watchOnce();
    expect(resultOf(first, '131016')).toMatchObject({ result: 'first', treeSize: 3, findings: [] });
    expect(resultOf(first, '132012')).toMatchObject({ result: 'no-head', findings: [] });
    expect(n.x.recordChecks.at(-1)).toEqual({ processingNumbers: [] });

    await n.provisions(2);
    expect(resultOf(await watch.watchOnce(), '131016')).toMatchObject({
      result: 'consistent',
      history: 'consistent',
      treeSize: 5,
    });
    expect(n.x.recordChecks.at(-1)).toEqual({ processingNumbers: [], since: 3 });
    expect(resultOf(await watch.watchOnce(), '131016')?.result).toBe('same');

    // The log rewritten through SQL and grown again, a new head signed with the institution's key.
    const raw = new Database(n.file);
    raw.exec('DELETE FROM record_events; DELETE FROM merkle_nodes; DELETE FROM provider_records;');
    raw.close();
    await n.provisions(7);
    const rewritten = resultOf(await watch.watchOnce(), '131016');
    expect(rewritten).toMatchObject({ result: 'finding', history: 'inconsistent', treeSize: 7 });
    expect(rewritten?.findings.map((f) => [f.kind, f.detail])).toEqual([
      ['head-inconsistent', { earlierSize: 5, treeSize: 7 }],
    ]);
    expect(results.filter((r) => r === 'finding')).toHaveLength(1);
    const warned = lines.filter((l) => l.level === 40);
    expect(warned).toEqual([
      expect.objectContaining({
        institutionId: '131016',
        finding: 'head-inconsistent',
        earlierSize: 5,
        treeSize: 7,
      }),
    ]);
    // Kept with its finding; the commission's next cross-check still proves from the last head that passed.
    expect(
      (await n.core.store.listInstitutionTreeHeads('131016')).map((h) => [h.treeSize, h.finding]),
    ).toEqual([
      [3, null],
      [5, null],
      [7, 'head-inconsistent'],
    ]);
    // The commission sees it under the cross-check's form without running one, in each language.
    const web = await consoleOf(n.core, n.pkiDir);
    const ja = await crossCheckPage(web, 'ja', false);
    expect(ja).toContain('<section id="head-findings" data-count="1">');
    expect(ja).toContain('data-institution="131016" data-kind="head-inconsistent"');
    expect(ja).toContain(
      '大きさ 7 のツリーヘッドは、以前に回答した大きさ 5 のツリーヘッドと整合しません（ログの書換え）',
    );
    const en = await crossCheckPage(web, 'en', false);
    expect(en).toContain('tree head of size 7 is not consistent with the head of size 5 it gave before');

    const check = await oversightOf(n.core, n.pkiDir).crossCheck({ limit: 10 });
    expect(partyOf(check)).toMatchObject({ history: 'inconsistent' });
    expect(n.x.recordChecks.at(-1)?.since).toBe(5);
  });

  it('keeps, of the heads that pass, the first and the last of each day', async () => {
    const n = await network();
    const { watch } = watchOf(n.core, n.pkiDir);
    const sizes = async () =>
      (await n.core.store.listInstitutionTreeHeads('131016')).map((h) => [h.treeSize, h.finding]);
    // Ten minutes apart, each watch sees a larger head: the day's first (3) and its newest stay.
    await n.provisions(3);
    await watch.watchOnce();
    for (const _ of [4, 5, 6]) {
      n.core.clock.advance(10 * 60_000);
      await n.provisions(1);
      await watch.watchOnce();
    }
    expect(await sizes()).toEqual([
      [3, null],
      [6, null],
    ]);
    // The next day: that day's first and last, and the day before's stay as they were.
    n.core.clock.advance(24 * 3600_000);
    for (const _ of [7, 8, 9]) {
      await n.provisions(1);
      await watch.watchOnce();
      n.core.clock.advance(10 * 60_000);
    }
    expect(await sizes()).toEqual([
      [3, null],
      [6, null],
      [7, null],
      [9, null],
    ]);
    // Each watch still proved the new head from the newest kept.
    expect(n.x.recordChecks.at(-1)).toEqual({ processingNumbers: [], since: 8 });
  });

  it('counts an institution that does not answer as unreachable and goes on to the next', async () => {
    const n = await network();
    const { watch, results } = watchOf(n.core, n.pkiDir);
    await n.provisions(1);
    n.a.onRecordCheck = () => {
      throw new Error('down');
    };
    const watched = await watch.watchOnce();
    expect(resultOf(watched, '132012')).toMatchObject({ result: 'unreachable', findings: [] });
    expect(resultOf(watched, '132012')?.error).toMatch(/^ERR_/);
    expect(resultOf(watched, '131016')?.result).toBe('first');
    expect(results.sort()).toEqual(['first', 'unreachable']);
    const page = await crossCheckPage(await consoleOf(n.core, n.pkiDir), 'ja', false);
    expect(page).toContain('<section id="head-findings" data-count="0">');
    expect(page).toContain('整合しなかったツリーヘッドはありません。');
  });
});
