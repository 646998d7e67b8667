/**
 * The operator's console plugin over a real core (SQLite, real HTTP to stand-in institutions): every
 * route it registers runs the guard it is given (enumerated from Fastify's onRoute, not listed by
 * hand), the statistics page shows the figures the statistics service counts, the CSV is the same
 * as the admin API's, the legal pages show versions and a diff, and the health numbers: nodes up and
 * down, queues, answer-time percentiles.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { createHttpApp, listen } from '../../../shared/http.ts';
import { silentLogger } from '../../../shared/logger.ts';
import { addDatabaseCheck, pingDatabase } from '../../../shared/readiness.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { legalTableFromFiles } from '../../../domain/legal-table/load.ts';
import { percentile } from '../service/network-health.ts';
import {
  TEST_OPERATOR_HEADERS,
  startTestOperatorConsole,
  startTwoMunicipalities,
  testLegalTable,
  type TestCore,
  type TwoMunicipalities,
} from '../test-support.ts';

const table = testLegalTable();
const FILES = {
  clauses: stringify(table.clauses),
  procedures: stringify(table.procedures),
  items: stringify(table.items),
};

let net: TwoMunicipalities;
let core: TestCore;
let web: FastifyInstance;
const routes: { method: string; url: string }[] = [];
const ALLOWED = TEST_OPERATOR_HEADERS;

beforeAll(async () => {
  net = await startTwoMunicipalities({ legalTable: legalTableFromFiles(FILES) });
  ({ core } = net);
  await core.core.services.legalVersions.open();
  // A node that does not answer: its health is "down".
  await core.register('152048', 'municipality', 'http://127.0.0.1:9');
  for (let i = 0; i < 3; i++) await net.inquire([2]);
  await net.inquire([1, 2]);
  await net.inquire([31]); // refused: item not in the procedure
  await core.core.whenIdle();

  web = await startTestOperatorConsole(core, (route) => {
    for (const method of [route.method].flat())
      if (method !== 'HEAD') routes.push({ method, url: route.url });
  });
});

afterAll(async () => {
  await web.close();
  await net.dispose();
});

const get = (url: string, headers: Record<string, string> = ALLOWED) =>
  web.inject({ method: 'GET', url, headers });

describe("the operator's console", () => {
  it('runs the guard on every route it registers', async () => {
    const own = routes.filter((r) => r.url.startsWith('/operator'));
    expect(own.length).toBeGreaterThanOrEqual(6);
    for (const route of own) {
      const refused = await web.inject({ method: route.method as 'GET', url: route.url });
      expect(refused.statusCode, `${route.method} ${route.url}`).toBe(403);
      expect(refused.body).toContain('ERR_CALLER_NOT_ALLOWED');
    }
  });

  it('shows the statistics of the period, with the CSV the admin API answers', async () => {
    const page = await get('/operator/statistics?from=2025-05-26&to=2025-06-01');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('週あたり提供件数');
    expect(page.body).toContain('<strong id="provisions">3</strong>');
    expect(page.body).toContain('令和7年5月26日（2025年）');
    // by item: item 2 provided 3 times; items 1 and 31 asked for, refused (074-01 asks for item 2 only)
    expect(page.body).toMatch(/data-key="2"[\s\S]*?data-provisions="3"/);
    expect(page.body).toMatch(/data-key="31"[\s\S]*?data-provisions="0"/);
    expect(page.body).toContain('/operator/statistics-chart.js');
    const csv = await get('/operator/statistics.csv?from=2025-05-26&to=2025-06-01');
    const api = await fetch(`${core.url}/admin/v1/statistics?from=2025-05-26&to=2025-06-01&format=csv`);
    expect(csv.rawPayload.equals(Buffer.from(await api.arrayBuffer()))).toBe(true);
    expect(csv.body).toContain('item,2,');
    const bad = await get('/operator/statistics?from=2025-02-30');
    expect(bad.statusCode).toBe(400);
    const script = await get('/operator/statistics-chart.js');
    expect(script.headers['content-type']).toContain('javascript');
    expect(script.body.length).toBeGreaterThan(10_000);
  });

  it('shows the legal table with its versions and the diff between two', async () => {
    const b = {
      ...FILES,
      procedures: FILES.procedures.replace(/appliedTo: .*/, 'appliedTo: 変更後の申請先'),
    };
    const loaded = await core.call<{ version: { digest: string } }>('POST', '/admin/v1/legal-versions', {
      effectiveFrom: '2025-07-01',
      files: b,
    });
    const legal = await get('/operator/legal');
    expect(legal.body).toContain('施行中');
    expect(legal.body).toContain('施行予定');
    expect(legal.body).toContain('児童手当');
    const base = legalTableFromFiles(FILES).digest;
    const diff = await get(`/operator/legal/diff?from=${base}&to=${loaded.body.version.digest}`);
    expect(diff.statusCode).toBe(200);
    expect(diff.body).toMatch(/~ 事務手続 074-01 [\s\S]*appliedTo: .+ → 変更後の申請先/);
    expect((await get(`/operator/legal/diff?from=${base}&to=${'0'.repeat(64)}`)).statusCode).toBe(404);
  });

  it('shows each node up or down, the queues and the answer times', async () => {
    const health = await core.core.services.health.check();
    const byId = new Map(health.nodes.map((n) => [n.id, n]));
    expect(byId.get('131016')?.up).toBe(true);
    expect(byId.get('132012')?.up).toBe(true);
    expect(byId.get('152048')).toMatchObject({ up: false, error: 'ERR_UPSTREAM_UNAVAILABLE' });
    expect(health.queues).toMatchObject({ awaitingProvider: 0, undelivered: 0 });
    // The five inquiries were made at the fixed clock's instant: three answered, two refused (left out).
    expect(health.answerTimes.count).toBe(3);
    expect(health.answerTimes.p50Ms).toBe(0);
    const page = await get('/operator/health');
    expect(page.body).toContain('停止 (ERR_UPSTREAM_UNAVAILABLE)');
    expect(page.body).toContain('稼働中');
  });

  it('takes percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([1, 2, 3, 1000], 50)).toBe(2);
  });
});

describe("the operator's health page, of nodes whose databases fail or that predate /readyz", () => {
  it('shows a node whose database cannot be reached down with ERR_DATABASE_UNAVAILABLE, and an older node by its /healthz', async () => {
    // A node whose PostgreSQL refuses its connections: up, but not ready.
    const pool = new pg.Pool({ connectionString: 'postgres://renkei@127.0.0.1:1/gone' });
    pool.on('error', () => undefined);
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    const unready = createHttpApp({ logger: silentLogger(), node: 'institution:131041' });
    addDatabaseCheck(unready.server, 'intermediate', () => pingDatabase(db));
    // A node of a version before /readyz: its not-found answer, and /healthz.
    const older = Fastify();
    older.get('/healthz', () => ({ status: 'ok', node: 'institution:131130' }));
    older.setNotFoundHandler((_request, reply) =>
      reply.status(404).send({
        error: { code: 'ERR_ROUTE_NOT_FOUND', message: 'This node has no such route.', details: {} },
      }),
    );
    try {
      await core.register('131041', 'municipality', await listen(unready, 0));
      await core.register('131130', 'municipality', await listen(older, 0));
      const byId = new Map((await core.core.services.health.check()).nodes.map((n) => [n.id, n]));
      expect(byId.get('131041')).toMatchObject({ up: false, error: 'ERR_DATABASE_UNAVAILABLE' });
      expect(byId.get('131130')).toMatchObject({ up: true, error: null });
      expect((await get('/operator/health')).body).toContain('停止 (ERR_DATABASE_UNAVAILABLE)');
    } finally {
      await unready.close();
      await older.close();
      await db.destroy();
    }
  });
});
