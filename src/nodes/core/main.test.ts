import { readLog } from '../../shared/logger.ts';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawClient, type RawClient } from '../../protocol/raw-client.ts';
import type { InstitutionRegistration } from '../../protocol/admin.ts';
import type { CodeIssuanceRequest } from '../../protocol/messages.ts';
import { fixedClock } from '../../shared/clock.ts';
import type { RunningNode } from '../../shared/node.ts';
import { openSqliteCoreStore } from './kysely-store.ts';
import { startCore } from './main.ts';
import type { ProvisionRecord } from './model.ts';
import {
  newAcquisitionNumber,
  pendingInquiry,
  startStandIn,
  testLegalTable,
  type StandIn,
} from './test-support.ts';

let dir: string;
let x: StandIn;
let a: StandIn;
const clock = fixedClock('2025-06-01T01:00:00.000Z');
const legalTable = testLegalTable();

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-core-main-'));
  x = await startStandIn();
  a = await startStandIn();
});

afterEach(async () => {
  await Promise.all([x.close(), a.close()]);
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<{ node: RunningNode; client: RawClient }> {
  const node = await startCore({ dataDir: dir, port: 0, legalTable, clock });
  return { node, client: rawClient(node.url, 'core') };
}

async function setUp(client: RawClient): Promise<string> {
  for (const [id, standIn] of [
    ['131016', x],
    ['132012', a],
  ] as const) {
    const registration: InstitutionRegistration = {
      name: id,
      nameEn: id,
      kind: 'municipality',
      networkUrl: standIn.url,
    };
    await client.put(`/admin/v1/institutions/${id}`, registration);
  }
  return issue(client);
}

async function issue(client: RawClient): Promise<string> {
  const request: CodeIssuanceRequest = {
    institutionId: '131016',
    acquisitionNumber: newAcquisitionNumber(),
    residentRecordCode: '12345678901',
  };
  await client.post('/v1/code-issuances', request);
  return x.codeFor(request.acquisitionNumber);
}

/** x's clause-74 inquiry to a as a crash leaves it: answered with `outcome` (or not yet), not delivered. */
function leftInFlight(processingNumber: string, outcome: ProvisionRecord['outcome']) {
  return pendingInquiry(processingNumber, '2025-06-01T00:00:00.000Z', {
    requesterId: '131016',
    providerId: '132012',
    personKey: 'person-key',
    answeredAt: outcome === 'pending' ? null : '2025-06-01T00:00:01.000Z',
    outcome,
    legalTableDigest: legalTable.digest,
  });
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}

describe('startCore', () => {
  it('creates its master keys once, readable by its owner only, and keeps codes stable across restarts', async () => {
    const first = await start();
    const code = await setUp(first.client);
    await first.node.close();

    const keyFile = join(dir, 'core', 'master-keys.json');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const keys = JSON.parse(readFileSync(keyFile, 'utf8')) as { masterKeys: Record<string, string> };

    const second = await start();
    expect(await issue(second.client)).toBe(code);
    await second.node.close();

    const log = readLog(join(dir, 'logs', 'core.log'));
    expect(log).toContain('core started');
    for (const secret of [...Object.values(keys.masterKeys), code, '12345678901']) {
      expect(log.includes(secret)).toBe(false);
    }
  });

  it('settles inquiries left in flight when it starts again', async () => {
    const first = await start();
    await setUp(first.client);
    await first.node.close();

    // What a crash leaves behind: forwarded and unanswered; answered but not delivered.
    const store = await openSqliteCoreStore(join(dir, 'core', 'core.sqlite'));
    const inFlight = '01970000-0000-7000-8000-000000000001';
    const notHeld = '01970000-0000-7000-8000-000000000002';
    const provided = '01970000-0000-7000-8000-000000000003';
    for (const [pn, outcome] of [
      [inFlight, 'pending'],
      [notHeld, 'not_held'],
      [provided, 'provided'],
    ] as const) {
      await store.recordInquiry(...leftInFlight(pn, outcome));
    }
    await store.close();

    const second = await start();
    try {
      await until(() => x.answers.length === 2);
      expect(a.provisionRequests).toHaveLength(0); // nothing re-forwarded
      expect(x.answers.find((d) => d.processingNumber === inFlight)).toMatchObject({
        outcome: 'failed',
        reason: 'provider_unavailable',
        items: [],
      });
      expect(x.answers.find((d) => d.processingNumber === notHeld)).toMatchObject({ outcome: 'not_held' });
      const status = (pn: string) =>
        second.client.get<{ outcome: string; delivery: string }>(`/v1/inquiries/${pn}`);
      for (let i = 0; i < 200 && (await status(inFlight)).delivery === 'pending'; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      for (let i = 0; i < 200 && (await status(notHeld)).delivery === 'pending'; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(await status(inFlight)).toMatchObject({ outcome: 'failed', delivery: 'delivered' });
      expect(await status(notHeld)).toMatchObject({ outcome: 'not_held', delivery: 'delivered' });
      expect(await status(provided)).toMatchObject({ outcome: 'provided', delivery: 'failed' });
    } finally {
      await second.node.close();
    }
  });

  it('refuses to start with fresh keys over a database that has institutions', async () => {
    const first = await start();
    await setUp(first.client);
    await first.node.close();
    unlinkSync(join(dir, 'core', 'master-keys.json'));
    await expect(start()).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID' });
  });
});
