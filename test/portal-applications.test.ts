/**
 * ぴったりサービス over real HTTP on a real network (the core, J-LIS with JPKI, 三条市, the portal, the
 * card reader): a resident finds 児童手当 and applies without a 課税証明書, signs at the reader with the
 * signing password (CMS SignedData), and 三条市's systems download and verify it over mutual TLS.
 * The refusals: a wrong password counted on the card, a tampered application, another person's
 * card, a replayed answer, a revoked signing certificate, and every caller of the download API that
 * is not 三条市.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualCard } from '../src/card/virtual-card.ts';
import { renkei } from '../src/cli/test-support.ts';
import type { ApplicationDatabase } from '../src/nodes/portal/kysely-application-store.ts';
import { createClient, type Client } from '../src/protocol/api.ts';
import { credentialTransport } from '../src/protocol/client-credentials.ts';
import { portalApi } from '../src/protocol/routes.ts';
import type { Transport } from '../src/protocol/transport.ts';
import { systemClock } from '../src/shared/clock.ts';
import { openDatabase } from '../src/shared/db.ts';
import { createSignedData } from '../src/trust/pki/cms.ts';
import { issuePartyCertificates } from '../src/trust/pki/authority.ts';
import { pkiPaths } from '../src/trust/pki/files.ts';
import { demoOperator } from '../src/network/pki-setup.ts';
import { attemptWith, credentialOf } from './support/attacker.ts';
import { sampleOf } from './support/metrics.ts';
import { startPortalNetwork, type PortalNetwork } from './support/portal-network.ts';
import { Browser, formOf, logInAs, unescapeHtml } from './support/portal-web.ts';

const PASSWORD = 'SANJO2024';
let net: PortalNetwork;
let hanako: Browser;
let other: Browser;
let sanjo: Client<typeof portalApi>;
const transports: Transport[] = [];
let hanakoCard: { cardId: string; file: string };

async function municipalityClient(party: string): Promise<Client<typeof portalApi>> {
  const pkiDir = net.network.pkiDir!;
  const transport = await credentialTransport({
    pkiDir,
    parties: [party],
    clock: systemClock,
    crl: { file: pkiPaths(pkiDir).crlDer },
    timeoutMs: 30_000,
  });
  transports.push(transport);
  return createClient(portalApi, {
    transport,
    baseUrl: net.portal.networkUrl,
    peer: 'the portal',
    party: 'portal',
  });
}

const CHILD_ALLOWANCE = {
  childName: '山田 一郎',
  childDateOfBirth: '2024-04-01',
  relationship: '子',
  payeeAccount: '公金受取口座',
  phone: '0256345111',
};

/** The status the resident's list shows for an application (`received`, `downloaded`). */
function statusOf(page: string, applicationNumber: string): string | undefined {
  const start = page.indexOf(`data-application="${applicationNumber}"`);
  if (start < 0) return undefined;
  return /data-state="([a-z]+)"/.exec(page.slice(start))?.[1];
}

/** Fill in the form and come to the signing page: the request id and the reader's link. */
async function prepare(browser: Browser, fields = CHILD_ALLOWANCE) {
  const path = '/services/152048/kosodate-01/apply';
  const { text } = await browser.go(`${net.portal.url}${path}`);
  const posted = await browser.go(`${net.portal.url}${path}`, {
    form: { ...formOf(text, path), ...fields },
    origin: net.portal.url,
  });
  expect(posted.response.status).toBe(303);
  const location = posted.response.headers.get('location') ?? '';
  const requestId = /^\/services\/signing\/([A-Za-z0-9_-]{43})$/.exec(location)?.[1] ?? '';
  const { text: signing } = await browser.go(`${net.portal.url}${location}`);
  const link = unescapeHtml(/href="([^"]+)" data-testid="sign-link"/.exec(signing)?.[1] ?? '');
  return { requestId, link };
}

/** At the reader: open the link, choose the card, type the password. */
async function signAtReader(link: string, card: string, password: string) {
  const reader = new Browser();
  const { text } = await reader.go(link);
  return reader.go(`${net.readerUrl}/sign-document`, {
    form: { ...formOf(text, '/sign-document'), card: `${card}.card`, password },
  });
}

/** Post the reader's answer to the portal as the reader's page does, then follow to the receipt. */
async function answer(browser: Browser, requestId: string, signedData: string) {
  return browser.go(`${net.portal.url}/signing-requests/${requestId}/signature`, {
    form: { signedData },
    origin: net.readerUrl,
  });
}

beforeAll(async () => {
  net = await startPortalNetwork('applications');
  hanakoCard = await net.issueCard('hanako', '山田 花子');
  await net.issueCard('other', '佐藤 美咲');
  hanako = await logInAs(net, 'hanako');
  other = await logInAs(net, 'other');
  sanjo = await municipalityClient('152048:business');
}, 120_000);

afterAll(async () => {
  for (const t of transports) await t.close();
  await net?.dispose();
});

describe('ぴったりサービス: find, apply, sign, download', () => {
  it('finds 児童手当 at 三条市 by life event and keyword, with 課税証明書 添付不要', async () => {
    const { text } = await hanako.go(
      `${net.portal.url}/services?event=kosodate&municipality=152048&q=児童手当`,
    );
    expect(text).toContain('児童手当等の受給資格及び児童手当の額についての認定請求');
    expect(text).toContain('課税証明書 添付不要');
    expect(text).toContain('href="/services/152048/kosodate-01/apply"');
    expect(text).not.toContain('data-municipality="131041"');
    const { text: care } = await hanako.go(`${net.portal.url}/services?event=kaigo&municipality=152048`);
    expect(care).not.toContain('kosodate-01');
  });

  it('shows 添付不要 on the form and asks for no attachment; validates on the server', async () => {
    const path = '/services/152048/kosodate-01/apply';
    const { text } = await hanako.go(`${net.portal.url}${path}`);
    expect(text).toContain('data-testid="attachments-omitted"');
    expect(text).toContain('課税証明書 添付不要');
    expect(text).not.toContain('type="file"');
    const bad = await hanako.go(`${net.portal.url}${path}`, {
      form: { ...formOf(text, path), ...CHILD_ALLOWANCE, childName: '', phone: '12-34' },
      origin: net.portal.url,
    });
    expect(bad.response.status).toBe(400);
    expect(bad.text).toContain('児童の氏名を入力してください。');
    expect(bad.text).toContain('入力の形式が違います');
    // A procedure 三条市 did not register, and a form without its CSRF token, are refused.
    expect((await hanako.go(`${net.portal.url}/services/152048/hisai-01/apply`)).response.status).toBe(404);
    const forged = await hanako.go(`${net.portal.url}${path}`, {
      form: CHILD_ALLOWANCE,
      origin: net.portal.url,
    });
    expect(forged.response.status).toBe(403);
  });

  let number = '';

  it('signs at the reader (a wrong password counted on the card) and receives the application', async () => {
    const { requestId, link } = await prepare(hanako);
    expect(link.startsWith(`${net.readerUrl}/sign-document?`)).toBe(true);
    const wrong = await signAtReader(link, 'hanako', 'WRONG123');
    expect(wrong.response.status).toBe(401);
    expect(wrong.text).toContain('あと4回');
    expect(VirtualCard.open(hanakoCard.file).status().passwordTriesLeft).toBe(4);
    const signed = await signAtReader(link, 'hanako', PASSWORD);
    expect(signed.response.status).toBe(200);
    expect(VirtualCard.open(hanakoCard.file).status().passwordTriesLeft).toBe(5);
    const fields = formOf(signed.text, `${net.portal.url}/signing-requests/${requestId}/signature`);
    const posted = await answer(hanako, requestId, fields.signedData ?? '');
    expect(posted.response.status).toBe(303);
    const { text } = await hanako.go(`${net.portal.url}${posted.response.headers.get('location') ?? ''}`);
    expect(text).toContain('申請を受け付けました');
    number = /data-testid="application-number">([^<]+)</.exec(text)?.[1] ?? '';
    expect(number).toMatch(/^\d{8}-[0-9A-Z]{8}$/);
    expect(text).toContain('href="/services/applications"');
    // The same answer again is a replay.
    expect((await answer(hanako, requestId, fields.signedData ?? '')).response.status).toBe(409);
    // Her own list shows it, waiting for 三条市; nobody else's does.
    const { text: mine } = await hanako.go(`${net.portal.url}/services/applications`);
    expect(statusOf(mine, number)).toBe('received');
    expect(mine).toContain('児童手当等の受給資格及び児童手当の額についての認定請求');
    expect(mine).toMatch(/令和\d+年\d+月\d+日（\d{4}年）/);
    const { text: theirs } = await other.go(`${net.portal.url}/services/applications`);
    expect(theirs).not.toContain(number);
    expect(theirs).toContain('data-testid="no-applications"');
    const { text: home } = await hanako.go(`${net.portal.url}/`);
    expect(home).toContain('href="/services/applications"');
  });

  it('lets 三条市 list, fetch and bulk-download it, verified, with the user-authentication serial', async () => {
    const fresh = await sanjo.listApplications({ query: { state: 'new' } });
    expect(fresh.applications.map((a) => a.applicationNumber)).toEqual([number]);
    expect(fresh.applications[0]).toMatchObject({ procedureId: 'kosodate-01', legalProcedureId: '074-01' });
    const one = await sanjo.getApplication({ params: { applicationNumber: number } });
    expect(one.verification).toMatchObject({ signature: 'valid', certificateStatus: 'good' });
    const card = VirtualCard.open(hanakoCard.file);
    expect(one.verification.authenticationSerial).toBe((await card.readCertificate('authentication')).serial);
    const content = JSON.parse(Buffer.from(one.content, 'base64').toString('utf8')) as Record<
      string,
      unknown
    >;
    expect(content).toMatchObject({ relyingPartyId: 'portal', attachmentsOmitted: ['課税証明書', '住民票'] });
    expect(JSON.stringify(content)).toContain('山田 一郎');
    expect(JSON.stringify(content)).not.toMatch(/\d{12}/);
    expect((await sanjo.listApplications({ query: { state: 'new' } })).applications).toHaveLength(0);
    expect((await sanjo.listApplications({ query: { state: 'downloaded' } })).applications).toHaveLength(1);
    expect((await sanjo.downloadApplications({ body: {} })).applications).toHaveLength(0);
    const bulk = await sanjo.downloadApplications({ body: { applicationNumbers: [number] } });
    expect(bulk.applications[0]?.verification.signature).toBe('valid');
    const { text: mine } = await hanako.go(`${net.portal.url}/services/applications`);
    expect(statusOf(mine, number)).toBe('downloaded');
  });

  it('downloads with `renkei applications download`, and exits 1 on an application whose signature fails', async () => {
    const out = join(net.dir, 'downloads');
    const cli = (...more: string[]) =>
      renkei(
        '--data-dir',
        net.dir,
        'applications',
        'download',
        '--portal-url',
        net.portal.networkUrl,
        '--municipality',
        '152048',
        '--out',
        out,
        ...more,
      );
    // The stored application altered in the portal's database, and made new again: the CLI lists
    // it, downloads it, writes it, and says ✗ with a failing exit code.
    const db = await openDatabase<ApplicationDatabase>(net.portalDatabase);
    const row = await db
      .selectFrom('onestop_applications')
      .select('content')
      .where('application_number', '=', number)
      .executeTakeFirstOrThrow();
    const set = (content: string) =>
      db
        .updateTable('onestop_applications')
        .set({ content, downloaded_at: null })
        .where('application_number', '=', number)
        .execute();
    try {
      await set(
        Buffer.from(
          Buffer.from(row.content, 'base64').toString('utf8').replace('山田 一郎', '山田 次郎'),
        ).toString('base64'),
      );
      const failed = await cli();
      expect(failed.stderr).toBe('');
      expect(failed.status).toBe(1);
      expect(failed.stdout).toContain(number);
      expect(failed.stdout).toContain('✗ ERR_SIGNATURE_INVALID');
    } finally {
      await set(row.content);
      await db.destroy();
    }
    const run = await cli('--application', number);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/令和\d+年\d+月\d+日（\d{4}年）/);
    expect(run.stdout).toContain('✓');
    expect(run.stdout).toContain('good');
    expect(run.stdout).not.toContain('✗');
    const signed = readFileSync(join(out, `${number}.p7s`));
    expect(signed[0]).toBe(0x30); // DER
    const written = JSON.parse(readFileSync(join(out, `${number}.json`), 'utf8')) as {
      verification: { signature: string; authenticationSerial: string };
      application: { fields: { value: string }[] };
    };
    expect(written.verification.signature).toBe('valid');
    expect(written.verification.authenticationSerial).toBe(
      (await VirtualCard.open(hanakoCard.file).readCertificate('authentication')).serial,
    );
    expect(written.application.fields.map((f) => f.value)).toContain('山田 一郎');
  }, 120_000);

  it('lets no other municipality, institution node, or resident read 三条市’s applications', async () => {
    const pkiDir = net.network.pkiDir!;
    await issuePartyCertificates({
      dir: pkiDir,
      partyId: '131041:business',
      role: 'business',
      clock: systemClock,
    });
    const shinjuku = await municipalityClient('131041:business');
    expect((await shinjuku.listApplications({ query: {} })).applications).toHaveLength(0);
    await expect(shinjuku.getApplication({ params: { applicationNumber: number } })).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_APPLICATION',
    });
    const ca = readFileSync(pkiPaths(pkiDir).caBundle, 'utf8');
    const url = `${net.portal.networkUrl}/business/v1/applications`;
    // 三条市's node certificate (role institution) is not its business system's.
    const node = await attemptWith(ca, url, { as: credentialOf(pkiDir, '152048') });
    expect(node).toMatchObject({ status: 403, code: 'ERR_CALLER_NOT_ALLOWED' });
    // A resident has no certificate of the network: nothing without one.
    const anonymous = await attemptWith(ca, url);
    expect(anonymous.status).toBeGreaterThanOrEqual(400);
    expect(anonymous.text).not.toContain(number);
    // Nor through the web listener with a session.
    expect((await hanako.go(`${net.portal.url}/business/v1/applications`)).response.status).toBe(404);
  });

  it('refuses a tampered application and one signed with another person’s card', async () => {
    const { requestId, link } = await prepare(hanako);
    const reader = new Browser();
    await reader.go(link);
    const document = (await (
      await fetch(`${net.portal.url}/signing-requests/${requestId}/document`)
    ).json()) as { content: string };
    const sign = async (file: string, content: Uint8Array) => {
      const card = VirtualCard.open(file);
      const certificate = await card.readCertificate('signing', PASSWORD);
      return Buffer.from(
        await createSignedData({
          content,
          certificate: certificate.certificateDer,
          sign: (tbs) => card.signWithSigningKey(PASSWORD, tbs),
        }),
      ).toString('base64');
    };
    const original = Buffer.from(document.content, 'base64');
    const tampered = Buffer.from(original.toString('utf8').replace('山田 一郎', '山田 次郎'), 'utf8');
    const refused = await answer(hanako, requestId, await sign(hanakoCard.file, tampered));
    expect(refused.response.status).toBe(400);
    // Each answer takes the request once: a new one for the other card.
    const second = await prepare(hanako);
    const secondDocument = (await (
      await fetch(`${net.portal.url}/signing-requests/${second.requestId}/document`)
    ).json()) as { content: string };
    const otherFile = `${net.cardsDir}/other.card`;
    const mismatch = await answer(
      hanako,
      second.requestId,
      await sign(otherFile, Buffer.from(secondDocument.content, 'base64')),
    );
    expect(mismatch.response.status).toBe(403);
    expect((await sanjo.listApplications({ query: { state: 'new' } })).applications).toHaveLength(0);
  });

  it('refuses an application signed while the card is suspended (its certificates on hold), and accepts one again after the lift', async () => {
    const jlis = net.network.jlisClient();
    const suspended = await jlis.suspendCard({
      body: { cardId: hanakoCard.cardId, reason: 'loss', clerkId: 'clerk-01' },
    });
    expect(suspended.certificates).toBe('held');
    const during = await prepare(hanako);
    const signedDuring = await signAtReader(during.link, 'hanako', PASSWORD);
    const heldData =
      formOf(signedDuring.text, `${net.portal.url}/signing-requests/${during.requestId}/signature`)
        .signedData ?? '';
    const refused = await answer(hanako, during.requestId, heldData);
    expect(refused.response.status).toBe(401);
    expect(refused.text).toContain('ERR_CERT_REVOKED');
    // 三条市's check of the application received before the loss shows the hold too.
    const whileHeld = await sanjo.getApplication({ params: { applicationNumber: number } });
    expect(whileHeld.verification).toMatchObject({ certificateStatus: 'revoked', code: 'ERR_CERT_REVOKED' });

    const lifted = await jlis.liftCardSuspension({
      body: {
        cardId: hanakoCard.cardId,
        card: readFileSync(hanakoCard.file).toString('base64'),
        clerkId: 'clerk-01',
      },
    });
    expect(lifted.card).toMatchObject({ state: 'delivered', certificates: 'valid' });
    const afterLift = await sanjo.getApplication({ params: { applicationNumber: number } });
    expect(afterLift.verification).toMatchObject({ signature: 'valid', certificateStatus: 'good' });
    const again = await prepare(hanako);
    const signedAgain = await signAtReader(again.link, 'hanako', PASSWORD);
    const accepted = await answer(
      hanako,
      again.requestId,
      formOf(signedAgain.text, `${net.portal.url}/signing-requests/${again.requestId}/signature`)
        .signedData ?? '',
    );
    expect(accepted.response.status).toBe(303);
  });

  it('shows a revoked signing certificate at download, and refuses a new application signed with it', async () => {
    const { requestId, link } = await prepare(hanako);
    const signed = await signAtReader(link, 'hanako', PASSWORD);
    const signedData =
      formOf(signed.text, `${net.portal.url}/signing-requests/${requestId}/signature`).signedData ?? '';
    await net.network
      .jlisClient()
      .revokeCard({ body: { cardId: hanakoCard.cardId, reason: 'loss', clerkId: 'clerk-01' } });
    const refused = await answer(hanako, requestId, signedData);
    expect(refused.response.status).toBe(401);
    expect(refused.text).toContain('ERR_CERT_REVOKED');
    const one = await sanjo.getApplication({ params: { applicationNumber: number } });
    expect(one.verification).toMatchObject({
      signature: 'valid',
      certificateStatus: 'revoked',
      code: 'ERR_CERT_REVOKED',
    });
  });
});

describe('the portal’s metrics', () => {
  it('count the residents’ pages at the network listener’s /metrics, under listener="web"', async () => {
    const pkiDir = net.network.pkiDir!;
    const caBundle = readFileSync(pkiPaths(pkiDir).caBundle, 'utf8');
    const before = await attemptWith(caBundle, `${net.portal.networkUrl}/metrics`, {
      as: credentialOf(pkiDir, demoOperator('monitoring')),
    });
    expect(before.status).toBe(200);
    const apply = 'route="/services/:municipality/:procedure/apply",method="GET",status="200",listener="web"';
    const count = (text: string) =>
      sampleOf(text, `renkei_http_request_duration_seconds_count{${apply}}`) ?? 0;
    await hanako.go(`${net.portal.url}/services/152048/kosodate-01/apply`);
    const after = await attemptWith(caBundle, `${net.portal.networkUrl}/metrics`, {
      as: credentialOf(pkiDir, demoOperator('monitoring')),
    });
    expect(count(after.text)).toBe(count(before.text) + 1);
    // The network listener's own routes stay unlabelled beside them.
    expect(after.text).toMatch(
      /^renkei_http_request_duration_seconds_count\{route="\/metrics",method="GET",status="200"\} [1-9]/m,
    );
  });
});
