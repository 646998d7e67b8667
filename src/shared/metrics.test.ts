/**
 * A node's other listeners (its pages, a console, a publication) are counted as its API is, and read
 * at the one `/metrics` of its main port, each series labelled with its listener; the merged text
 * names each family once, and keeps the process's own figures (`process_start_time_seconds` among
 * them, which prom-client's cluster merge would drop).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { RenkeiError } from './errors.ts';
import { createHttpApp } from './http.ts';
import { silentLogger } from './logger.ts';
import { includeListener, metricsOf } from './metrics.ts';
import { createWebApp } from './web/server.ts';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function nodeWithPages() {
  const api = createHttpApp({ logger: silentLogger(), node: 'test' });
  const web = await createWebApp({
    logger: silentLogger(),
    errorPage: (error) => `<p>${error.code}</p>`,
  });
  web.get('/login', () => 'form');
  web.get('/locked', () => {
    throw new RenkeiError('ERR_LOGIN_THROTTLED', 'Too many tries.');
  });
  apps.push(api, web);
  includeListener(api, web, 'web');
  const text = async () => (await metricsOf(api.server)?.text()) ?? '';
  return { api, web, text };
}

/** The lines of one family's samples, e.g. every `renkei_errors_total{…}` line. */
const samples = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));

describe("a node's other listeners in its metrics", () => {
  it('counts the pages’ requests and errors under listener="web", beside the API’s, each family once', async () => {
    const { api, web, text } = await nodeWithPages();
    await api.inject({ method: 'GET', url: '/healthz' });
    await web.inject({ method: 'GET', url: '/login' });
    await web.inject({ method: 'GET', url: '/login' });
    expect((await web.inject({ method: 'GET', url: '/locked' })).statusCode).toBe(429);
    expect((await web.inject({ method: 'GET', url: '/no/such/page' })).statusCode).toBe(404);

    const exposition = await text();
    const counts = samples(exposition, 'renkei_http_request_duration_seconds_count');
    expect(counts).toContain(
      'renkei_http_request_duration_seconds_count{route="/login",method="GET",status="200",listener="web"} 2',
    );
    expect(counts).toContain(
      'renkei_http_request_duration_seconds_count{route="/locked",method="GET",status="429",listener="web"} 1',
    );
    expect(counts).toContain(
      'renkei_http_request_duration_seconds_count{route="(no route)",method="GET",status="404",listener="web"} 1',
    );
    expect(counts).toContain(
      'renkei_http_request_duration_seconds_count{route="/healthz",method="GET",status="200"} 1',
    );
    expect(samples(exposition, 'renkei_errors_total')).toEqual([
      'renkei_errors_total{code="ERR_LOGIN_THROTTLED",listener="web"} 1',
    ]);
    for (const family of [
      'renkei_http_request_duration_seconds',
      'renkei_errors_total',
      'process_cpu_seconds_total',
    ]) {
      expect(exposition.match(new RegExp(`^# TYPE ${family} `, 'gm')), family).toHaveLength(1);
    }
    expect(exposition).toMatch(/^process_start_time_seconds \d+/m);
  });

  it('refuses to include an app that counts nothing', async () => {
    const api = createHttpApp({ logger: silentLogger(), node: 'test' });
    apps.push(api);
    const bare = (await import('fastify')).default();
    apps.push(bare);
    expect(() => includeListener(api, bare, 'other')).toThrow(TypeError);
  });
});
