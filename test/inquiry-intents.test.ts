/**
 * A requester that dies between sending an inquiry and recording it loses nothing: on the secured
 * demo network (real nodes, real SQLite files, mutual TLS), the requester writes its intent down
 * first, and a fresh node on the same files sends it again under the same idempotency key, so its
 * record gets the core's processing number and the core opens no second inquiry. The death is placed
 * exactly by a store that fails the write after the intent (the node stops there, as if killed).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLegalTable } from '../src/domain/legal-table/index.ts';
import type { Network } from '../src/network/launch.ts';
import { verifyNetworkRecords } from '../src/network/records.ts';
import type { SeededWorld } from '../src/network/seed.ts';
import { DEMO_WORLD } from '../src/network/world.ts';
import type { IntermediateStore } from '../src/nodes/institution/intermediate/store.ts';
import { startInstitution } from '../src/nodes/institution/main.ts';
import { RenkeiError } from '../src/shared/errors.ts';
import type { RunningNode } from '../src/shared/node.ts';
import { clause74Inquiry, startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const REQUESTER = '152048'; // 三条市

let demo: DemoNetwork | undefined;
let network: Network;
let world: SeededWorld;
let dir: string;
const restarted: RunningNode[] = [];

beforeAll(async () => {
  demo = await startDemoNetwork('intents', { secure: true });
  ({ dir, network, world } = demo);
});

afterAll(async () => {
  for (const node of restarted) await node.close();
  await network.close();
  await demo?.dispose();
});

/** Stop the requester and start it again on the same files and port, its store wrapped if asked. */
async function restartRequester(wrap?: (store: IntermediateStore) => IntermediateStore): Promise<void> {
  const old = restarted.at(-1) ?? network.institutions.get(REQUESTER);
  if (!old) throw new Error('no requester');
  await old.close();
  const node = await startInstitution({
    dataDir: dir,
    port: Number(new URL(old.url).port),
    institutionId: REQUESTER,
    kind: DEMO_WORLD.institutions.find((i) => i.id === REQUESTER)?.kind ?? 'municipality',
    coreUrl: network.core.url,
    jlisUrl: network.jlis.url,
    legalTable: loadLegalTable(),
    security: {
      pkiDir: network.pkiDir ?? '',
      crl: { url: `${network.core.publicationUrl ?? ''}/pki/v1/crl` },
    },
    ...(wrap === undefined ? {} : { wrapIntermediateStore: wrap }),
  });
  restarted.push(node);
}

/** A store that fails the opening of a `pending` record: the node "dies" after the core's 202. */
function dyingAfterTheCoreAccepts(store: IntermediateStore): IntermediateStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'recordInquiry') {
        return (...args: Parameters<IntermediateStore['recordInquiry']>) => {
          if (args[0].outcome === 'pending') return Promise.reject(new Error('killed before recording'));
          return target.recordInquiry(...args);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function rows<T>(file: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

const coreFile = () => join(dir, 'core', 'core.sqlite');
const requesterFile = () => join(dir, 'institutions', REQUESTER, 'intermediate.sqlite');
const coreInquiriesOf = (requester: string) =>
  rows<{ processingNumber: string }>(
    coreFile(),
    'SELECT processing_number AS processingNumber FROM provision_records WHERE requester_id = ? ORDER BY processing_number',
    requester,
  ).map((r) => r.processingNumber);

/** 山田 太郎's clause-74 inquiry from 三条市, with these options (an idempotency key, other items). */
const inquiry = (options: Parameters<typeof clause74Inquiry>[1] = {}) =>
  clause74Inquiry(world.addresseeNumber('yamada-taro', REQUESTER), options);

describe('a requester killed between sending an inquiry and recording it', () => {
  it('sends it again when it starts, records it under the core’s processing number, and the core keeps one inquiry', async () => {
    await restartRequester(dyingAfterTheCoreAccepts);
    const before = coreInquiriesOf(REQUESTER);
    const failure = await network
      .institution(REQUESTER)
      .inquire(inquiry())
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RenkeiError);
    const opened = coreInquiriesOf(REQUESTER).filter((pn) => !before.includes(pn));
    expect(opened).toHaveLength(1);
    const processingNumber = opened[0] ?? '';
    // The intent is written down; no record opened under the core's number (an answer may have come).
    expect(rows(requesterFile(), 'SELECT request_id FROM inquiry_intents')).toHaveLength(1);
    expect(
      rows(
        requesterFile(),
        'SELECT 1 FROM requester_records WHERE processing_number = ? AND requested_at IS NOT NULL',
        processingNumber,
      ),
    ).toHaveLength(0);

    // A fresh node on the same files: the intent is sent again, the core answers with the same number.
    await restartRequester();
    let answer = await network
      .institution(REQUESTER)
      .getInquiry({ params: { processingNumber }, query: { waitMs: 0 } })
      .catch(() => undefined);
    for (let i = 0; i < 200 && answer?.status !== 'answered'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      answer = await network
        .institution(REQUESTER)
        .getInquiry({ params: { processingNumber }, query: { waitMs: 1_000 } })
        .catch(() => undefined);
    }
    expect(answer).toMatchObject({
      processingNumber,
      status: 'answered',
      outcome: 'provided',
      clauseNo: '74',
    });
    expect(rows(requesterFile(), 'SELECT request_id FROM inquiry_intents')).toEqual([]);
    expect(coreInquiriesOf(REQUESTER)).toEqual([...before, processingNumber].sort());
  });

  it('gets the same processing number for the same requestId sent twice, and the core opens one inquiry', async () => {
    const before = coreInquiriesOf(REQUESTER);
    const requestId = '0f6f3c2e-5d6b-4b8e-9a53-2f1c7e0d4a11';
    const first = await network.institution(REQUESTER).inquire(inquiry({ requestId }));
    const again = await network.institution(REQUESTER).inquire(inquiry({ requestId }));
    expect(again.processingNumber).toBe(first.processingNumber);
    expect(coreInquiriesOf(REQUESTER)).toEqual([...before, first.processingNumber].sort());

    // The key reused for another inquiry is refused, not answered with the first one's number.
    const reused = await network
      .institution(REQUESTER)
      .inquire(inquiry({ requestId, itemNos: [1] }))
      .catch((error: unknown) => error);
    expect(reused).toBeInstanceOf(RenkeiError);
    expect((reused as RenkeiError).code).toBe('ERR_VALIDATION');
  });

  it('leaves the three parties’ records in agreement', async () => {
    for (const node of restarted.splice(0)) await node.close();
    await network.close();
    const report = await verifyNetworkRecords({ dataDir: dir });
    const findings = [...report.parties.flatMap((p) => p.findings), ...report.exchanges.findings];
    expect(findings.map((f) => f.message)).toEqual([]);
  });
});
