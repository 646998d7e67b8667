/**
 * Nothing lost at the last step: a requester killed (SIGKILL, a real process) after the core has sent
 * it a fetched answer and before it has recorded it fetches the same answer again when it restarts,
 * because the core keeps an answer until its requester acknowledges it. On the secured demo network
 * (real nodes, real SQLite files, mutual TLS), with the requester as `renkei node institution`.
 *
 * The moment is placed by the test holding the requester's database write lock (a transaction of
 * its own on the SQLite file): the core's push cannot be recorded (the requester answers it 5xx, and
 * the core retries), a clerk's read makes the requester fetch the answer, the core's reply to that
 * fetch is seen in the core's message archive, and the requester is killed while its write waits.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Network } from '../src/network/launch.ts';
import { verifyNetworkRecords } from '../src/network/records.ts';
import type { SeededWorld } from '../src/network/seed.ts';
import { DEMO_WORLD } from '../src/network/world.ts';
import { clause74Inquiry, startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';
import { spawnInstitution, type InstitutionProcess } from './support/institution-process.ts';

const REQUESTER = '152048'; // 三条市
const PROVIDER = '131041'; // 新宿区

let demo: DemoNetwork | undefined;
let network: Network;
let world: SeededWorld;
let dir: string;
let requester: InstitutionProcess | undefined;
let port: number;

beforeAll(async () => {
  demo = await startDemoNetwork('ack', { secure: true });
  ({ dir, network, world } = demo);
  const inProcess = network.institutions.get(REQUESTER);
  if (!inProcess) throw new Error('no requester');
  port = Number(new URL(inProcess.url).port);
  await inProcess.close();
  requester = await startRequester();
});

afterAll(async () => {
  await requester?.kill('SIGTERM');
  await network.close();
  await demo?.dispose();
});

/** The requester as its own process, on the in-process node's files and port. */
function startRequester(): Promise<InstitutionProcess> {
  return spawnInstitution(
    {
      dataDir: dir,
      port,
      pki: { dir: network.pkiDir ?? '', crlUrl: `${network.core.publicationUrl ?? ''}/pki/v1/crl` },
      institution: {
        id: REQUESTER,
        kind: DEMO_WORLD.institutions.find((i) => i.id === REQUESTER)?.kind ?? 'municipality',
      },
      coreUrl: network.core.url,
      jlisUrl: network.jlis.url,
    },
    dir,
  );
}

function rows<T>(file: string, query: string, ...params: unknown[]): T[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(query).all(...params) as T[];
  } finally {
    db.close();
  }
}

const requesterFile = () => join(dir, 'institutions', REQUESTER, 'intermediate.sqlite');
const outcomeAt = (file: string, table: string, processingNumber: string) =>
  rows<{ outcome: string }>(
    file,
    `SELECT outcome FROM ${table} WHERE processing_number = ?`,
    processingNumber,
  )[0]?.outcome;
/** Signed messages of one type the core received for an exchange, and the core's answers to them. */
const coreArchived = (processingNumber: string, type: string) =>
  rows<{ hash: string; answered: number }>(
    join(dir, 'core', 'messages.sqlite'),
    `SELECT m.hash, (SELECT count(*) FROM signed_messages a WHERE a.in_response_to = m.hash AND a.direction = 'sent') AS answered
       FROM signed_messages m WHERE m.processing_number = ? AND m.type = ? AND m.direction = 'received'`,
    processingNumber,
    type,
  );

async function until<T>(what: string, probe: () => T | Promise<T>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a requester killed between the core’s reply to its fetch and its commit', () => {
  it('fetches the same answer again when it restarts, and the three parties record it provided', async () => {
    // An inquiry whose push cannot be recorded: the requester's database is locked as soon as the
    // inquiry is accepted (tried again should the push have been quicker than the lock).
    let lock: Database.Database | undefined;
    let processingNumber = '';
    for (let attempt = 0; attempt < 5 && processingNumber === ''; attempt++) {
      const accepted = await network
        .institution(REQUESTER)
        .inquire(clause74Inquiry(world.addresseeNumber('yamada-taro', REQUESTER)));
      lock = new Database(requesterFile());
      lock.exec('BEGIN IMMEDIATE');
      if (outcomeAt(requesterFile(), 'requester_records', accepted.processingNumber) === 'pending') {
        processingNumber = accepted.processingNumber;
      } else {
        lock.exec('ROLLBACK');
        lock.close();
      }
    }
    expect(processingNumber).not.toBe('');

    // A clerk waits: a read of an inquiry pending 10 s makes the requester fetch the kept answer.
    await until(
      'the core to answer a fetch',
      async () => {
        await network
          .institution(REQUESTER)
          .getInquiry({ params: { processingNumber }, query: { waitMs: 0 } })
          .catch(() => undefined);
        return coreArchived(processingNumber, 'AnswerFetch').some((m) => m.answered > 0);
      },
      90_000,
    );
    await requester?.kill('SIGKILL');
    lock?.exec('ROLLBACK');
    lock?.close();
    // Died with the answer in hand and nothing recorded.
    expect(outcomeAt(requesterFile(), 'requester_records', processingNumber)).toBe('pending');

    requester = await startRequester();
    const answer = await until('the restarted requester to record the answer', async () => {
      const status = await network
        .institution(REQUESTER)
        .getInquiry({ params: { processingNumber }, query: { waitMs: 1_000 } })
        .catch(() => undefined);
      return status?.status === 'answered' ? status : undefined;
    });
    expect(answer).toMatchObject({ processingNumber, outcome: 'provided', items: [{ itemNo: 2 }] });
    expect(outcomeAt(join(dir, 'core', 'core.sqlite'), 'provision_records', processingNumber)).toBe(
      'provided',
    );
    expect(
      outcomeAt(
        join(dir, 'institutions', PROVIDER, 'intermediate.sqlite'),
        'provider_records',
        processingNumber,
      ),
    ).toBe('provided');
    // The core hears that it was recorded (an acknowledgement, or a push answered 2xx), and ends it.
    await until('the core to record the delivery', () => {
      return (
        rows<{ delivery: string }>(
          join(dir, 'core', 'core.sqlite'),
          'SELECT delivery FROM inquiries WHERE processing_number = ?',
          processingNumber,
        )[0]?.delivery === 'delivered'
      );
    });

    await requester.kill('SIGTERM');
    requester = undefined;
    await network.close();
    const report = await verifyNetworkRecords({ dataDir: dir });
    const findings = [...report.parties.flatMap((p) => p.findings), ...report.exchanges.findings];
    expect(findings.map((f) => f.message)).toEqual([]);
  }, 180_000);
});
