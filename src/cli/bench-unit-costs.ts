/**
 * `renkei bench --unit-costs`: what the design brief's decisions cost on this machine, one operation at
 * a time, measured with the network's own primitives and nothing around them, and the least CPU one
 * exchange can take when every hop carries one message (as the bare chain does): a floor under any
 * implementation of that pattern, to set the secured path's figures against.
 *
 * The brief asks for mutual TLS between nodes, every message signed, the items sealed end to end from
 * provider to requester, and records at three parties. One exchange, one message per hop, then needs at
 * least (clerk → requester → core → provider → core → requester → clerk):
 *
 * - 4 HTTPS requests with mutual TLS (clerk → requester, requester → core, core → provider, core →
 *   requester), each with a client and a server end;
 * - 4 ES256 signatures (the inquiry, the provision request, the provider's items, the core's delivery)
 *   and 5 verifications (those four, and the provider's answer checked by the core);
 * - 1 seal (ECDH-ES + A256GCM, to the requester's encryption certificate) and 1 opening;
 * - 5 committed record writes: the requester's before it sends and when answered, the core's before
 *   its 202 and when answered, the provider's when it answers.
 *
 * Each figure is the CPU time of the process (user and system, `process.cpuUsage`) over many runs,
 * after a warm-up; for HTTPS both ends run in this process, so one request's figure holds both. The
 * figures are a floor, not an estimate: the network also validates, authorizes, converts codes, keeps
 * the signed messages, appends to Merkle logs and answers the clerk's request body, none of which is
 * counted here.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { systemClock } from '../shared/clock.ts';
import { signCompactEs256, verifyCompactEs256 } from '../trust/envelope/es256.ts';
import { decryptForRecipient, encryptForRecipient } from '../trust/envelope/item-encryption.ts';
import { initPki, issuePartyCertificates } from '../trust/pki/authority.ts';
import { partyPaths, pkiPaths } from '../trust/pki/files.ts';
import { table } from './output.ts';

export interface UnitCost {
  operation: string;
  /** CPU µs for one. */
  micros: number;
  /** How many one exchange needs at least, one message per hop. */
  perExchange: number;
}

/** CPU µs per call of `run`, over `n` calls after a warm-up of a tenth as many. */
async function cpuMicros(n: number, run: () => unknown): Promise<number> {
  for (let i = 0; i < Math.ceil(n / 10); i++) await run();
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

/** Measure each operation the brief's decisions need (`n` runs each; 2,000 gives steady figures). */
export async function measureUnitCosts(n: number): Promise<UnitCost[]> {
  const dir = mkdtempSync(join(tmpdir(), 'renkei-unit-costs-'));
  try {
    const signing = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const payload = Buffer.from(
      JSON.stringify({ msg: { personCode: 'x'.repeat(44), itemNos: [2] }, pad: 'x'.repeat(700) }),
    );
    const jws = signCompactEs256({ alg: 'ES256', kid: 'a1' }, payload, signing.privateKey);
    const recipient = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const items = { items: [{ itemNo: 2, layoutVersion: '2020.06', data: { taxableIncome: 4_200_000 } }] };
    const sealed = await encryptForRecipient(items, recipient.publicKey, { kid: 'b2' });

    const db = new Database(join(dir, 'records.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(
      'create table records (processing_number text primary key, party text not null, at text not null, leaf_hash blob not null, body text not null)',
    );
    const insert = db.prepare('insert into records values (?, ?, ?, ?, ?)');
    let row = 0;
    const record = db.transaction(() => {
      const id = String(row++);
      const body = JSON.stringify({ processingNumber: id, outcome: 'provided', itemNos: [2] });
      insert.run(id, '152048', new Date().toISOString(), createHash('sha256').update(body).digest(), body);
    });

    // Mutual TLS 1.3 between two parties of a real PKI, as between two nodes: keep-alive, a signed body.
    const pkiDir = join(dir, 'pki');
    await initPki({ dir: pkiDir, clock: systemClock });
    const server = await issuePartyCertificates({
      dir: pkiDir,
      partyId: 'core',
      role: 'core',
      hosts: ['127.0.0.1'],
      clock: systemClock,
    });
    const client = await issuePartyCertificates({
      dir: pkiDir,
      partyId: '152048',
      role: 'institution',
      clock: systemClock,
    });
    const ca = readFileSync(pkiPaths(pkiDir).caBundle, 'utf8');
    const files = (party: typeof server) => ({
      key: readFileSync(partyPaths(pkiDir, party.partyId).identityKey, 'utf8'),
      cert: readFileSync(partyPaths(pkiDir, party.partyId).identityCert, 'utf8'),
    });
    const https = createServer(
      { ...files(server), ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/jose' });
          res.end(Buffer.concat(chunks));
        });
      },
    );
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}/`;
    const agent = new Agent({ connect: { ...files(client), ca }, keepAliveTimeout: 30_000 });
    try {
      return [
        {
          operation: 'HTTPS request, mutual TLS 1.3, keep-alive, 1 KB each way (both ends)',
          micros: await cpuMicros(n, async () => {
            const response = await request(url, { method: 'POST', dispatcher: agent, body: jws });
            await response.body.text();
          }),
          perExchange: 4,
        },
        {
          operation: 'ES256 signature (node:crypto, as every message is signed)',
          micros: await cpuMicros(n, () =>
            signCompactEs256({ alg: 'ES256', kid: 'a1' }, payload, signing.privateKey),
          ),
          perExchange: 4,
        },
        {
          operation: 'ES256 verification',
          micros: await cpuMicros(n, () => verifyCompactEs256(jws, signing.publicKey)),
          perExchange: 5,
        },
        {
          operation: "seal the items (ECDH-ES P-256 + A256GCM, to the requester's key)",
          micros: await cpuMicros(n, () => encryptForRecipient(items, recipient.publicKey, { kid: 'b2' })),
          perExchange: 1,
        },
        {
          operation: 'open the sealed items',
          micros: await cpuMicros(n, () => decryptForRecipient(sealed, recipient.privateKey)),
          perExchange: 1,
        },
        {
          operation: 'record written and committed (SQLite, WAL, one row and its leaf hash)',
          micros: await cpuMicros(n, () => record()),
          perExchange: 5,
        },
      ];
    } finally {
      await agent.close();
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The floor per exchange, in CPU µs. */
export function floorMicros(costs: readonly UnitCost[]): number {
  return costs.reduce((sum, cost) => sum + cost.micros * cost.perExchange, 0);
}

/**
 * The floor per exchange when the requester sends `k` inquiries as one batch (as the network's
 * requester coalesces them): each clerk's request is still an HTTPS request of its own, everything else
 * (the three requests between nodes, the signatures, the seal, the commits) is shared by the batch. The
 * rows a batch's members add to its commits are left out: a floor still.
 */
export function batchedFloorMicros(costs: readonly UnitCost[], k: number): number {
  const https = costs[0]?.micros ?? 0;
  return https + (floorMicros(costs) - https) / k;
}

export async function benchUnitCosts(n: number): Promise<void> {
  console.error(`unit costs: ${n} runs of each operation…`);
  const costs = await measureUnitCosts(n);
  const floor = floorMicros(costs);
  const cores = cpus().length;
  console.log(
    table(
      ['operation', 'CPU µs each', 'per exchange', 'CPU µs per exchange'],
      [
        ...costs.map((cost) => [
          cost.operation,
          cost.micros.toFixed(1),
          cost.perExchange,
          Math.round(cost.micros * cost.perExchange),
        ]),
        ['floor: one message per hop', '', '', Math.round(floor)],
      ],
    ),
  );
  console.log(
    `One exchange with one message per hop takes at least ${(floor / 1000).toFixed(2)} CPU ms here: at most ` +
      `${Math.floor((cores * 1_000_000) / floor)} exchanges/s on this machine's ${cores} cores, with the cores doing nothing else ` +
      '(no validation, authorization, code conversion, message archive or Merkle log counted). Beyond that, only ' +
      'batching (several exchanges per message, signature, seal and commit) goes faster, and a batch waits to fill.',
  );
  const rate = 1000;
  console.log(
    `\nSent in batches of k (each clerk's request still its own HTTPS request; the rest shared), and what ${rate} exchanges/s would take:`,
  );
  console.log(
    table(
      [
        'inquiries per send (k)',
        'floor CPU µs per exchange',
        `most exchanges/s on ${cores} cores`,
        `cores busy at ${rate}/s`,
        `k arrive within, at ${rate}/s`,
      ],
      [1, 2, 5, 10, 20, 50].map((k) => {
        const micros = batchedFloorMicros(costs, k);
        return [
          k,
          Math.round(micros),
          Math.floor((cores * 1_000_000) / micros),
          ((rate * micros) / 1_000_000).toFixed(2),
          `${((k * 1000) / rate).toFixed(0)} ms`,
        ];
      }),
    ),
  );
}
