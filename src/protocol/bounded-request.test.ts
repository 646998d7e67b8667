import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineApi } from './api.ts';
import { httpTransport } from './http-transport.ts';
import { z } from 'zod';
import { RenkeiError } from '../shared/errors.ts';

const api = defineApi('test', {
  get: {
    method: 'GET',
    path: '/v1/thing',
    status: 200,
    callers: ['anyone'],
    label: 'thing',
    response: z.unknown(),
  },
});

const HUGE = 200 * 1024 * 1024;
let server: Server;
let baseUrl: string;
let trickled = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === '/trickle') {
      // A byte every 200 ms, forever: each byte would restart a per-gap timeout.
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('[');
      const timer = setInterval(() => {
        trickled++;
        response.write(' ');
      }, 200);
      response.on('close', () => clearInterval(timer));
      return;
    }
    if (request.url === '/huge') {
      // 200 MB of JSON, streamed without a content-length, as fast as the client reads.
      response.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < HUGE) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        response.end('1');
      };
      response.on('close', () => (sent = HUGE + 1));
      pump();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(HUGE) });
    response.write('1');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function call(path: string, limits: { timeoutMs?: number; maxAnswerBytes?: number }) {
  const transport = httpTransport();
  return transport
    .send({
      route: api.get,
      peer: 'the peer',
      party: undefined,
      baseUrl,
      path,
      query: undefined,
      body: undefined,
      timeoutMs: limits.timeoutMs,
      maxAnswerBytes: limits.maxAnswerBytes,
    })
    .finally(() => transport.close());
}

describe('an outbound call', () => {
  it('is cut at its deadline by a peer that trickles a byte at a time', async () => {
    const started = Date.now();
    const error = await call('/trickle', { timeoutMs: 1_000 }).catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(error).toBeInstanceOf(RenkeiError);
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE', details: { cause: 'deadline' } });
    expect(trickled).toBeGreaterThan(2); // the peer kept sending within any per-gap timeout
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(2_500);
  });

  it('stops reading an answer over its size limit, without holding the answer in memory', async () => {
    globalThis.gc?.();
    const before = process.memoryUsage();
    let peak = before.rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const error = await call('/huge', { maxAnswerBytes: 8 * 1024 * 1024, timeoutMs: 30_000 }).catch(
      (e: unknown) => e,
    );
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(error).toMatchObject({
      code: 'ERR_ANSWER_TOO_LARGE',
      details: { maxAnswerBytes: 8 * 1024 * 1024 },
    });
    // The answer was 200 MB; reading it whole would have grown the process by at least that much.
    expect(peak - before.rss).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses an answer whose declared length is over the limit before reading it', async () => {
    const error = await call('/declared', { maxAnswerBytes: 1024 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_ANSWER_TOO_LARGE' });
  });
});
