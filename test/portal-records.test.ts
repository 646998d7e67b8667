/**
 * The Myna Portal's records in a tamper-evident log, as every party's: on a real network (the core,
 * J-LIS, 三条市, the portal), the portal asks for a resident's information (requester), 三条市 asks the
 * portal for the resident's public-funds account (provider) and sends the resident a notice
 * (recipient). The portal answers the core's three-party cross-check; `renkei records verify` checks
 * its log, its heads (signed with its identity key) and its exchanges against the core's; then a
 * record, a notice and an event altered in the portal's database are each found.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/protocol/api.ts';
import { credentialTransport } from '../src/protocol/client-credentials.ts';
import { networkApi } from '../src/protocol/routes.ts';
import type { Transport } from '../src/protocol/transport.ts';
import { verifyNetworkRecords } from '../src/network/records.ts';
import { systemClock } from '../src/shared/clock.ts';
import { pkiPaths } from '../src/trust/pki/files.ts';
import { MUNICIPALITY, startPortalNetwork, type PortalNetwork } from './support/portal-network.ts';
import { formOf } from './support/portal-web.ts';
import { PortalResidents, waitFor } from './support/portal-residents.ts';

let net: PortalNetwork;
const transports: Transport[] = [];
const copies: string[] = [];
const residents = new PortalResidents(() => net);
const exchanges: { requester?: string; provider?: string; noticeId?: string } = {};

beforeAll(async () => {
  net = await startPortalNetwork('portal-records');
  await residents.add('hanako', '三条 花子', { login: true });
  // Requester: わたしの情報 asks 三条市 under the portal's clause.
  const browser = residents.as('hanako');
  const { text: page } = await browser.go(`${net.portal.url}/my-information`);
  const asked = await browser.go(`${net.portal.url}/my-information`, {
    form: formOf(page, '/my-information'),
    origin: net.portal.url,
  });
  expect(asked.response.status).toBe(303);
  await waitFor('the answers', async () => {
    const { text } = await browser.go(`${net.portal.url}/my-information/results`);
    return text.includes('data-settled="true"') ? text : undefined;
  });
  // Provider: 三条市 asks the portal for the account (none registered: not held, recorded all the same).
  const institution = net.network.institution(MUNICIPALITY.id);
  const accepted = await institution.inquire({
    body: {
      addresseeNumber: residents.addressee('hanako'),
      providerId: 'portal',
      clauseNo: '130',
      procedureId: '130-01',
      itemNos: [70],
    },
  });
  const answer = await institution.getInquiry({
    params: { processingNumber: accepted.processingNumber },
    query: { waitMs: 20_000 },
  });
  expect(answer.outcome).toBe('not_held');
  exchanges.provider = accepted.processingNumber;
  // Recipient: a notice.
  const sent = await institution.sendResidentMessage({
    body: {
      addresseeNumber: residents.addressee('hanako'),
      title: '児童手当の現況届',
      body: '提出をお願いします。',
    },
  });
  exchanges.noticeId = sent.noticeId;
  await waitFor('the notice', async () => {
    const { response } = await browser.go(`${net.portal.url}/notices/${sent.noticeId}`);
    return response.status === 200 ? true : undefined;
  });
}, 180_000);

afterAll(async () => {
  for (const transport of transports) await transport.close?.();
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
  await net.dispose();
});

function portalDb(dir: string): Database.Database {
  return new Database(join(dir, 'portal', 'portal.sqlite'));
}

describe("the portal's records in a tamper-evident log", () => {
  it("answers the core's cross-check with its records, and nobody else's", async () => {
    const transport = await credentialTransport({
      pkiDir: net.network.pkiDir ?? '',
      parties: ['core'],
      clock: systemClock,
      crl: { file: pkiPaths(net.network.pkiDir ?? '').crlDer },
    });
    transports.push(transport);
    const portal = createClient(networkApi, {
      transport,
      baseUrl: net.portal.networkUrl,
      peer: 'the portal',
      party: 'portal',
    });
    const db = portalDb(net.dir);
    const requester = db.prepare('SELECT processing_number FROM requester_records').all() as {
      processing_number: string;
    }[];
    db.close();
    expect(requester.length).toBeGreaterThan(0);
    exchanges.requester = requester[0]?.processing_number;
    const answer = await portal.checkRecords({
      body: { processingNumbers: [exchanges.provider ?? '', exchanges.requester ?? ''] },
    });
    expect(answer.provider).toEqual([
      expect.objectContaining({
        processingNumber: exchanges.provider,
        requesterId: MUNICIPALITY.id,
        clauseNo: '130',
        outcome: 'not_held',
        answers: 1,
      }),
    ]);
    expect(answer.requester).toEqual([
      expect.objectContaining({ processingNumber: exchanges.requester, providerId: MUNICIPALITY.id }),
    ]);
    // Neither a code nor the portal's person id leaves in the answer.
    expect(JSON.stringify(answer)).not.toMatch(/personCode|personId/);
    // The core only: an institution of the network, with its own valid certificate, is refused.
    const institution = await credentialTransport({
      pkiDir: net.network.pkiDir ?? '',
      parties: [MUNICIPALITY.id],
      clock: systemClock,
      crl: { file: pkiPaths(net.network.pkiDir ?? '').crlDer },
    });
    transports.push(institution);
    const refused = await createClient(networkApi, {
      transport: institution,
      baseUrl: net.portal.networkUrl,
      peer: 'the portal',
      party: 'portal',
    })
      .checkRecords({ body: { processingNumbers: [exchanges.provider ?? ''] } })
      .then(
        () => undefined,
        (error: unknown) => error as { code?: string },
      );
    expect(refused?.code).toBe('ERR_CALLER_NOT_ALLOWED');
  });

  it('verifies the honest case: its log, its heads signed with its identity key, its exchanges', async () => {
    // Stopping signs what the last head does not cover.
    await net.stopPortal();
    const report = await verifyNetworkRecords({ dataDir: net.dir, party: 'portal' });
    const portal = report.parties.find((p) => p.party === 'portal');
    expect(portal).toMatchObject({ heads: { status: 'signed' }, findings: [] });
    expect(portal?.heads.verified).toBeGreaterThan(0);
    // A requester record, a provider record, a notice: three records, four events (opened, answered).
    expect(portal?.records).toBe(3);
    expect(portal?.events).toBe(4);
    expect(report.exchanges.checked).toBeGreaterThanOrEqual(2);
    expect(report.exchanges.findings).toEqual([]);
    expect(report.ok).toBe(true);
  });

  const tampered = async (sqlText: string, ...params: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'renkei-portal-records-'));
    copies.push(dir);
    cpSync(net.dir, dir, { recursive: true });
    const db = portalDb(dir);
    expect(db.prepare(sqlText).run(...params).changes).toBeGreaterThan(0);
    db.close();
    const report = await verifyNetworkRecords({ dataDir: dir, party: 'portal' });
    expect(report.ok).toBe(false);
    return [...report.parties.flatMap((p) => p.findings), ...report.exchanges.findings];
  };

  it('finds a provider record altered in its database', async () => {
    const findings = await tampered(
      `UPDATE provider_records SET outcome = 'provided', provided_item_nos = '[70]' WHERE processing_number = ?`,
      exchanges.provider ?? '',
    );
    expect(findings).toContainEqual(
      expect.objectContaining({
        party: 'portal',
        kind: 'record-differs',
        processingNumber: exchanges.provider,
      }),
    );
  });

  it('finds a requester record altered, and one deleted', async () => {
    const altered = await tampered(
      `UPDATE requester_records SET provider_id = '131041' WHERE processing_number = ?`,
      exchanges.requester ?? '',
    );
    expect(altered).toContainEqual(
      expect.objectContaining({ kind: 'record-differs', processingNumber: exchanges.requester }),
    );
    const deleted = await tampered(
      `DELETE FROM requester_records WHERE processing_number = ?`,
      exchanges.requester ?? '',
    );
    expect(deleted).toContainEqual(
      expect.objectContaining({ kind: 'record-missing', processingNumber: exchanges.requester }),
    );
  });

  it("finds a notice's title altered, and an event rewritten under the signed heads", async () => {
    const title = await tampered(
      `UPDATE notices SET title = '未納のお知らせ' WHERE notice_id = ?`,
      exchanges.noticeId ?? '',
    );
    expect(title).toContainEqual(expect.objectContaining({ party: 'portal', kind: 'record-differs' }));
    const event = await tampered(
      `UPDATE record_events SET body = replace(body, '"not_held"', '"provided"'), event = 'provided' WHERE role = 'provider'`,
    );
    expect(event.map((f) => f.kind)).toContain('leaf-hash-mismatch');
  });
});
