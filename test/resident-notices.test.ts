/**
 * Notices of change reach the institutions that hold the person (issue 8, parts 1 and 2), on the
 * secured demo network (real nodes, real SQLite files, mutual TLS): J-LIS asks the core for the
 * holders, seals a notice to each, the core delivers it with each holder's own code, and the holders'
 * addressee systems update. The core never holds either number. An institution that is down gets the
 * notice when it is back; a J-LIS stopped before the core had the notice sends it when it starts
 * again (restarted in this process over the same data directory, not killed as an OS process).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLegalTable } from '../src/domain/legal-table/index.ts';
import type { Network } from '../src/network/launch.ts';
import { DEMO_WORLD } from '../src/network/world.ts';
import { startCore } from '../src/nodes/core/main.ts';
import { startInstitution } from '../src/nodes/institution/main.ts';
import { startJlis } from '../src/nodes/jlis/main.ts';
import { createClient } from '../src/protocol/api.ts';
import { credentialTransport } from '../src/protocol/client-credentials.ts';
import type { ReceivedResidentNotice } from '../src/protocol/resident-notices.ts';
import { loadNodeTrust } from '../src/protocol/node-trust.ts';
import { createResidentNoticeSealer } from '../src/protocol/resident-notice-sealing.ts';
import { coreApi, networkApi } from '../src/protocol/routes.ts';
import type { Transport } from '../src/protocol/transport.ts';
import { jstDate, systemClock } from '../src/shared/clock.ts';
import { RenkeiError } from '../src/shared/errors.ts';
import type { RunningNode } from '../src/shared/node.ts';
import { pkiPaths } from '../src/trust/pki/files.ts';
import { startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const HOLDER_A = '131041'; // 新宿区
const HOLDER_B = '152048'; // 三条市
const NOT_HOLDER = '271004'; // 大阪市
const NOT_HOLDER_2 = 'jps';

let demo: DemoNetwork | undefined;
let dir: string;
let network: Network;
let pkiDir: string;
let core: RunningNode;
let jlis: RunningNode;
/** Nodes this file restarted: closed by it, institutions and J-LIS before the core. */
const restarted: RunningNode[] = [];
const transports: Transport[] = [];
/** Every Individual Number this file saw given or replaced: none may be in the core's files or any log. */
const numbers: string[] = [];

let residentRecordCode: string;
let individualNumber: string;
const addressees: Record<string, string> = {};

beforeAll(async () => {
  demo = await startDemoNetwork('notices', { secure: true });
  ({ dir, network } = demo);
  pkiDir = network.pkiDir ?? '';
  core = network.core;
  jlis = network.jlis;
  const numbered = await network.jlisClient().registerResident({
    body: {
      name: '通知 花子',
      address: '東京都新宿区西新宿二丁目8番1号',
      dateOfBirth: '1985-04-01',
      sex: 'female',
    },
  });
  ({ residentRecordCode, individualNumber } = numbered);
  numbers.push(individualNumber);
  for (const id of [HOLDER_A, HOLDER_B]) {
    const person = await network.institution(id).registerPerson({ body: { individualNumber } });
    addressees[id] = person.addresseeNumber;
  }
}, 90_000);

afterAll(async () => {
  for (const node of restarted.filter((n) => n.name !== 'core')) await node.close();
  await network.close();
  for (const node of restarted.filter((n) => n.name === 'core')) await node.close();
  for (const transport of transports) await transport.close();
  await demo?.dispose();
});

const portOf = (url: string) => Number(new URL(url).port);
const crl = () => ({ url: `${core.publicationUrl ?? ''}/pki/v1/crl` });

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function noticesAt(institutionId: string): Promise<ReceivedResidentNotice[]> {
  return (await network.institution(institutionId).listResidentNotices({ query: { since: 0, limit: 1000 } }))
    .notices;
}

/** The notice at `institutionId` that is not among `seen`, once it has arrived. */
function arrival(institutionId: string, seen: number): Promise<ReceivedResidentNotice> {
  return until(`a notice at ${institutionId}`, async () => (await noticesAt(institutionId))[seen]);
}

/** What the core keeps of notices: by notice, holder and state. */
function atCore(): { noticeId: string; institutionId: string; state: string; sealed: number }[] {
  const db = new Database(join(dir, 'core', 'core.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        'SELECT notice_id AS noticeId, institution_id AS institutionId, state, sealed IS NOT NULL AS sealed FROM resident_notices ORDER BY received_at, institution_id',
      )
      .all() as { noticeId: string; institutionId: string; state: string; sealed: number }[];
  } finally {
    db.close();
  }
}

async function changeNumber(): Promise<string> {
  const changed = await network
    .jlisClient()
    .changeIndividualNumber({ body: { residentRecordCode, reason: 'leaked' } });
  numbers.push(changed.individualNumber);
  return changed.individualNumber;
}

async function restartInstitution(id: string, stop: () => Promise<void>): Promise<void> {
  const old = network.institutions.get(id);
  if (!old) throw new Error(`no institution ${id}`);
  await old.close();
  await stop();
  const node = await startInstitution({
    dataDir: dir,
    port: portOf(old.url),
    institutionId: id,
    kind: DEMO_WORLD.institutions.find((i) => i.id === id)?.kind ?? 'municipality',
    coreUrl: core.url,
    jlisUrl: jlis.url,
    legalTable: loadLegalTable(),
    security: { pkiDir, crl: crl() },
  });
  network.institutions.set(id, node);
  restarted.push(node);
}

function filesUnder(path: string): string[] {
  return readdirSync(path).flatMap((name) => {
    const full = join(path, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

describe('notices of change', () => {
  it('tell both institutions that hold the person of a number change, and none that does not', async () => {
    const before = { a: (await noticesAt(HOLDER_A)).length, b: (await noticesAt(HOLDER_B)).length };
    const others = [(await noticesAt(NOT_HOLDER)).length, (await noticesAt(NOT_HOLDER_2)).length];
    const old = individualNumber;
    individualNumber = await changeNumber();

    for (const [id, seen] of [
      [HOLDER_A, before.a],
      [HOLDER_B, before.b],
    ] as const) {
      const notice = await arrival(id, seen);
      expect(notice).toMatchObject({
        kind: 'number_change',
        outcome: 'applied',
        addresseeNumber: addressees[id],
        effectiveDate: jstDate(new Date()),
      });
      // The addressee system resolves the new number to the same person, and refuses the old one.
      const again = await network.institution(id).registerPerson({ body: { individualNumber } });
      expect(again.addresseeNumber).toBe(addressees[id]);
      const refusal = await network
        .institution(id)
        .registerPerson({ body: { individualNumber: old } })
        .catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(RenkeiError);
      expect((refusal as RenkeiError).code).toBe('ERR_INDIVIDUAL_NUMBER_REPLACED');
    }
    expect([(await noticesAt(NOT_HOLDER)).length, (await noticesAt(NOT_HOLDER_2)).length]).toEqual(others);
    // The core kept one row per holder, ended delivered, the ciphertext dropped.
    await until('the core to record both deliveries', () => {
      const rows = atCore();
      return rows.every((row) => row.state === 'delivered') ? rows : undefined;
    });
    expect(atCore().map((r) => [r.institutionId, r.state, r.sealed])).toEqual([
      [HOLDER_A, 'delivered', 0],
      [HOLDER_B, 'delivered', 0],
    ]);
  });

  it('tell the holders of a name change, with the changed fields and the day it took effect', async () => {
    const seen = (await noticesAt(HOLDER_A)).length;
    const seenB = (await noticesAt(HOLDER_B)).length;
    const today = jstDate(new Date());
    await network.jlisClient().recordResidentChange({
      body: { residentRecordCode, change: 'name_change', effectiveDate: today, name: '改名 花子' },
    });
    for (const [id, n] of [
      [HOLDER_A, seen],
      [HOLDER_B, seenB],
    ] as const) {
      expect(await arrival(id, n)).toMatchObject({
        kind: 'identity_change',
        outcome: 'applied',
        addresseeNumber: addressees[id],
        change: 'name_change',
        effectiveDate: today,
        fields: { name: '改名 花子' },
      });
    }
  });

  it('may not be asked for by an institution: who holds a person is for J-LIS only', async () => {
    const transport = await credentialTransport({
      pkiDir,
      parties: [HOLDER_A],
      clock: systemClock,
      crl: { file: pkiPaths(pkiDir).crlDer },
    });
    transports.push(transport);
    const asInstitution = createClient(coreApi, {
      transport,
      baseUrl: core.url,
      peer: 'core',
      party: 'core',
    });
    const refusal = await asInstitution
      .listCodeHolders({ body: { residentRecordCode } })
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RenkeiError);
    expect((refusal as RenkeiError).code).toBe('ERR_CALLER_NOT_ALLOWED');
  });

  it('are taken once each, acknowledged as not held for a code the institution does not hold, and refused when sealed for another', async () => {
    // The core's side played by hand: its credential, and notices J-LIS seals as it would.
    const crlFile = { file: pkiPaths(pkiDir).crlDer };
    const jlisTrust = await loadNodeTrust({ pkiDir, partyId: 'jlis', clock: systemClock, crl: crlFile });
    const sealer = createResidentNoticeSealer(jlisTrust, pkiDir);
    const transport = await credentialTransport({
      pkiDir,
      parties: ['core'],
      clock: systemClock,
      crl: crlFile,
    });
    transports.push(transport);
    const url = network.institutions.get(HOLDER_A)?.url ?? '';
    const asCore = createClient(networkApi, {
      transport,
      baseUrl: url,
      peer: 'institution',
      party: HOLDER_A,
    });
    const seen = (await noticesAt(HOLDER_A)).length;
    const content = (noticeId: string) => ({
      kind: 'identity_change' as const,
      noticeId,
      change: 'move_in' as const,
      effectiveDate: jstDate(new Date()),
      fields: { address: '大阪府大阪市北区中之島一丁目3番20号', status: 'resident' as const },
    });
    const unheld = randomUUID();
    const delivery = {
      noticeId: unheld,
      kind: 'identity_change' as const,
      personCode: 'A'.repeat(44),
      sealed: await sealer.seal(HOLDER_A, content(unheld)),
    };
    await asCore.deliverResidentNotice({ body: delivery });
    await asCore.deliverResidentNotice({ body: delivery });
    const forB = randomUUID();
    const refusal = await asCore
      .deliverResidentNotice({
        body: { ...delivery, noticeId: forB, sealed: await sealer.seal(HOLDER_B, content(forB)) },
      })
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RenkeiError);
    expect((refusal as RenkeiError).code).toBe('ERR_DECRYPTION_FAILED');
    expect((await noticesAt(HOLDER_A)).slice(seen)).toMatchObject([
      { noticeId: unheld, kind: 'identity_change', outcome: 'not_held' },
      { noticeId: forB, outcome: 'refused', reason: 'ERR_DECRYPTION_FAILED' },
    ]);
  });

  it('reach an institution that was down once it is back', async () => {
    const seen = (await noticesAt(HOLDER_B)).length;
    await restartInstitution(HOLDER_B, async () => {
      individualNumber = await changeNumber();
      // The core has tried, and keeps trying: the notice waits for B at the core.
      await until('a failed attempt at the core', () =>
        atCore().some((r) => r.institutionId === HOLDER_B && r.state === 'pending') ? true : undefined,
      );
    });
    const notice = await arrival(HOLDER_B, seen);
    expect(notice).toMatchObject({
      kind: 'number_change',
      outcome: 'applied',
      addresseeNumber: addressees[HOLDER_B],
    });
    const again = await network.institution(HOLDER_B).registerPerson({ body: { individualNumber } });
    expect(again.addresseeNumber).toBe(addressees[HOLDER_B]);
  }, 60_000);

  it('are sent by J-LIS after a restart when the core did not have them before it stopped', async () => {
    const seen = (await noticesAt(HOLDER_A)).length;
    // The core is down: J-LIS commits the change and its notice, and cannot hand it over.
    const oldCore = core;
    await oldCore.close();
    individualNumber = await changeNumber();
    await jlis.close();
    core = await startCore({
      dataDir: dir,
      port: portOf(oldCore.url),
      legalTable: loadLegalTable(),
      security: { pkiDir },
      publicationPort: portOf(oldCore.publicationUrl ?? ''),
    });
    restarted.push(core);
    jlis = await startJlis({
      dataDir: dir,
      port: portOf(jlis.url),
      coreUrl: core.url,
      security: { pkiDir, crl: crl() },
    });
    restarted.push(jlis);
    const notice = await arrival(HOLDER_A, seen);
    expect(notice).toMatchObject({
      kind: 'number_change',
      outcome: 'applied',
      addresseeNumber: addressees[HOLDER_A],
    });
    const again = await network.institution(HOLDER_A).registerPerson({ body: { individualNumber } });
    expect(again.addresseeNumber).toBe(addressees[HOLDER_A]);
  }, 60_000);

  it('leave neither number in the core’s files nor in any log', async () => {
    await until('every notice delivered at the core', () =>
      atCore().every((row) => row.state === 'delivered') ? true : undefined,
    );
    // J-LIS recorded each notice sent, to how many holders, and kept no content once sent.
    const jlisDb = new Database(join(dir, 'jlis', 'jlis.sqlite'), { readonly: true, fileMustExist: true });
    try {
      expect(
        jlisDb
          .prepare('SELECT kind, state, holders, content FROM resident_notices ORDER BY created_at')
          .all(),
      ).toEqual([
        { kind: 'number_change', state: 'sent', holders: 2, content: null },
        { kind: 'identity_change', state: 'sent', holders: 2, content: null },
        { kind: 'number_change', state: 'sent', holders: 2, content: null },
        { kind: 'number_change', state: 'sent', holders: 2, content: null },
      ]);
    } finally {
      jlisDb.close();
    }
    // Every node closed, so every log line and every database page is on disk.
    for (const node of restarted) await node.close();
    await network.close();
    const files = [...filesUnder(join(dir, 'core')), ...filesUnder(join(dir, 'logs'))];
    expect(files.some((f) => f.endsWith('core.sqlite'))).toBe(true);
    expect(files.some((f) => /core\.\d+\.log$/.test(f))).toBe(true);
    expect(numbers.length).toBe(4);
    for (const file of files) {
      const text = readFileSync(file).toString('latin1');
      for (const number of numbers)
        expect({ file, found: text.includes(number) }).toEqual({ file, found: false });
    }
    // …while the holders' addressee systems, which may, hold them: the search can find what it looks for.
    const addressee = filesUnder(join(dir, 'institutions', HOLDER_A))
      .filter((f) => f.includes('addressee.sqlite'))
      .map((f) => readFileSync(f).toString('latin1'))
      .join('');
    expect(addressee.includes(individualNumber)).toBe(true);
  });
});
