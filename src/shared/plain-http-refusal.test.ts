import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initPki, issuePartyCertificates } from '../trust/pki/authority.ts';
import { partyPaths, pkiPaths } from '../trust/pki/files.ts';
import { systemClock } from './clock.ts';
import { PLAIN_HTTP_REFUSED, refusePlainHttp, type PlainHttpRefusal } from './plain-http-refusal.ts';

const BODY = { error: { code: 'ERR_TLS_REQUIRED', message: 'Use https://.', details: {} } };

let dir: string;
let tls: { key: string; cert: string; ca: string };
let client: { key: string; cert: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-plain-http-'));
  const pki = join(dir, 'pki');
  await initPki({ dir: pki, clock: systemClock });
  for (const [partyId, role] of [
    ['core', 'core'],
    ['131016', 'institution'],
  ] as const) {
    await issuePartyCertificates({ dir: pki, partyId, role, hosts: ['127.0.0.1'], clock: systemClock });
  }
  const read = (path: string) => readFileSync(path, 'utf8');
  tls = {
    key: read(partyPaths(pki, 'core').identityKey),
    cert: read(partyPaths(pki, 'core').identityCert),
    ca: read(pkiPaths(pki).caBundle),
  };
  client = {
    key: read(partyPaths(pki, '131016').identityKey),
    cert: read(partyPaths(pki, '131016').identityCert),
  };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Started {
  server: Server;
  refusal: PlainHttpRefusal;
  port: number;
  refused: string[];
  handshakeErrors: string[];
  /** The party id of each request's client certificate, as the server saw it. */
  peers: string[];
}

const started: Started[] = [];

afterEach(async () => {
  for (const s of started.splice(0)) {
    s.refusal.destroyPending();
    s.server.closeAllConnections();
    await new Promise((resolve) => s.server.close(resolve));
  }
});

async function start(options: { firstByteTimeoutMs?: number; lingerMs?: number } = {}): Promise<Started> {
  const peers: string[] = [];
  const server = createServer(
    { ...tls, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' },
    (req, res) => {
      const cert = (req.socket as TLSSocket).getPeerCertificate();
      peers.push(String(cert.subject?.CN ?? '-'));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true }));
    },
  );
  const refusal = refusePlainHttp(server, { status: 400, body: BODY, ...options });
  const refused: string[] = [];
  const handshakeErrors: string[] = [];
  server.on(PLAIN_HTTP_REFUSED, (socket: Socket) => refused.push(socket.remoteAddress ?? '-'));
  server.on('tlsClientError', (error: Error & { code?: string }) => handshakeErrors.push(error.code ?? '-'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const s: Started = {
    server,
    refusal,
    port: (server.address() as AddressInfo).port,
    refused,
    handshakeErrors,
    peers,
  };
  started.push(s);
  return s;
}

/** Write `bytes` on a raw TCP connection and read until the server closes it. */
async function raw(port: number, bytes: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined); // a refused TLS handshake resets the connection
  await once(socket, 'connect');
  if (bytes.length > 0) socket.write(bytes);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('utf8');
}

describe('plain HTTP on a TLS port', () => {
  it('answers a plain request with a 400 JSON error, closes, and reports it once', async () => {
    const s = await start();
    const response = await fetch(`http://127.0.0.1:${s.port}/healthz`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('connection')).toBe('close');
    expect(await response.json()).toEqual(BODY);
    expect(s.refused).toEqual(['127.0.0.1']);
    expect(s.handshakeErrors).toEqual([]);
  });

  it('answers a client that sends less than a request line, and closes', async () => {
    const s = await start();
    const text = await raw(s.port, 'GE');
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(text).toContain('\r\nconnection: close\r\n');
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual(BODY);
    expect(s.refused).toHaveLength(1);
  });

  it('drops a connection that never sends a byte, reporting nothing', async () => {
    const s = await start({ firstByteTimeoutMs: 100 });
    const began = Date.now();
    expect(await raw(s.port, '')).toBe('');
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(s.refused).toEqual([]);
    expect(s.handshakeErrors).toEqual([]);
  });

  it('drops undecided connections when the server closes, so closing does not wait for them', async () => {
    const s = await start({ firstByteTimeoutMs: 60_000 });
    const closed = raw(s.port, '');
    await new Promise((resolve) => setTimeout(resolve, 50));
    s.refusal.destroyPending();
    expect(await closed).toBe('');
  });

  it('cuts a plain client that keeps sending after the answer', async () => {
    const s = await start({ lingerMs: 60_000 });
    const refused = once(s.server, PLAIN_HTTP_REFUSED) as Promise<[Socket]>;
    // Half-open: it does not close when the server has answered, and keeps sending.
    const socket = connect({ port: s.port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    socket.resume();
    await once(socket, 'connect');
    socket.write(`POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000\r\n\r\n`);
    socket.write(Buffer.alloc(200_000, 0x61));
    const [held] = await refused;
    if (!held.destroyed) await once(held, 'close'); // long before the 60 s linger
    socket.destroy();
  });
});

describe('TLS on the same port', () => {
  it('still serves TLS with the client certificate, several requests on one connection', async () => {
    const s = await start();
    let connections = 0;
    s.server.on('secureConnection', () => connections++);
    const socket = tlsConnect({ port: s.port, host: '127.0.0.1', ca: tls.ca, ...client });
    socket.on('error', () => undefined);
    await once(socket, 'secureConnect');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    for (let i = 1; i <= 3; i++) {
      socket.write('GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
      while (text.split('HTTP/1.1 200 OK').length - 1 < i) await once(socket, 'data');
    }
    socket.destroy();
    expect(connections).toBe(1);
    expect(s.peers).toEqual(['131016', '131016', '131016']);
    expect(s.refused).toEqual([]);
  });

  it('still reports a failed TLS handshake as tlsClientError, not as plain HTTP', async () => {
    const s = await start();
    // A handshake record header whose body is not a ClientHello.
    await raw(s.port, '\x16\x03\x01\x00\x05hello');
    expect(s.handshakeErrors).toHaveLength(1);
    expect(s.refused).toEqual([]);
  });

  it('serves TLS and answers plain HTTP alternately on one port', async () => {
    const s = await start();
    const agent = new Agent({ connect: { ca: tls.ca, ...client } });
    try {
      for (let i = 0; i < 2; i++) {
        expect((await fetch(`http://127.0.0.1:${s.port}/`)).status).toBe(400);
        const response = await request(`https://127.0.0.1:${s.port}/`, { dispatcher: agent });
        expect(response.statusCode).toBe(200);
        await response.body.dump();
      }
    } finally {
      await agent.close();
    }
    expect(s.refused).toHaveLength(2);
  });
});
