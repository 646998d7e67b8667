/**
 * A node's HTTP app closes promptly: a keep-alive connection whose request is being answered when
 * closing begins is not left open afterwards (Fastify's keepAliveTimeout, 72 s, held a restarted
 * node's close that long). Real HTTP and HTTPS with an undici keep-alive client, as the nodes use.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initPki, issuePartyCertificates } from '../trust/pki/authority.ts';
import { partyPaths, pkiPaths } from '../trust/pki/files.ts';
import { systemClock } from './clock.ts';
import { createHttpApp, listen } from './http.ts';
import { silentLogger } from './logger.ts';

let dir: string;
let tls: { key: string; cert: string; ca: string };
let client: { key: string; cert: string; ca: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-http-'));
  const pki = join(dir, 'pki');
  await initPki({ dir: pki, clock: systemClock });
  for (const [partyId, role] of [
    ['core', 'core'],
    ['131016', 'institution'],
  ] as const) {
    await issuePartyCertificates({ dir: pki, partyId, role, hosts: ['127.0.0.1'], clock: systemClock });
  }
  const read = (path: string) => readFileSync(path, 'utf8');
  const ca = read(pkiPaths(pki).caBundle);
  tls = {
    key: read(partyPaths(pki, 'core').identityKey),
    cert: read(partyPaths(pki, 'core').identityCert),
    ca,
  };
  client = {
    key: read(partyPaths(pki, '131016').identityKey),
    cert: read(partyPaths(pki, '131016').identityCert),
    ca,
  };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each([
  ['HTTP', false],
  ['HTTPS (behind the plain-HTTP refusal)', true],
])('closing a node’s app over %s', (_name, secure) => {
  it('waits for the request being answered, not for its keep-alive connection to time out', async () => {
    const app = createHttpApp({ logger: silentLogger(), node: 'test', ...(secure ? { tls } : {}) });
    /** Each request waits in the handler until answered; `arrived` says when it got there. */
    let arrived: () => void = () => undefined;
    let answer: () => void = () => undefined;
    app.post('/slow', async () => {
      arrived();
      await new Promise<void>((done) => (answer = done));
      return { ok: true };
    });
    const url = await listen(app, 0);
    const agent = new Agent({ keepAliveTimeout: 600_000, ...(secure ? { connect: client } : {}) });
    /** A request, once it is in the handler. */
    const slow = async () => {
      const there = new Promise<void>((resolve) => (arrived = resolve));
      const response = request(`${url}/slow`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      await there;
      return { response };
    };
    try {
      // One request answered first, so that the next goes over an established keep-alive connection.
      const first = await slow();
      answer();
      expect(await (await first.response).body.json()).toEqual({ ok: true });

      const inFlight = await slow();
      const begun = Date.now();
      const closed = app.close(); // while the second request is in its handler
      await new Promise((resolve) => setTimeout(resolve, 50));
      answer();
      const response = await inFlight.response;
      expect(response.statusCode).toBe(200);
      expect(response.headers.connection).toBe('close');
      await response.body.text();
      await closed;
      // Before the fix, 70 s (Fastify's keepAliveTimeout, 72 s, from the answer).
      expect(Date.now() - begun).toBeLessThan(5_000);
    } finally {
      await agent.close();
    }
  });
});
