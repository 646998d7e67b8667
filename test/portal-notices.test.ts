/**
 * Notices to residents at the Myna Portal (お知らせ), end to end on a real network: an institution's
 * business API sends a notice by addressee number; the institution seals it to the portal and sends
 * it to the core under its own code; the core converts the code into the portal's and delivers it;
 * the right resident reads it in their inbox and nobody else does. Also: a forged code and another
 * party's code refused and recorded; a resident who never logged in gets the notice at their first
 * login (the core holds it); the portal down while sending, the notice delivered once it is back;
 * the core's database never holding the content; only the core may deliver to the portal.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLegalTable } from '../src/domain/legal-table/index.ts';
import { createClient, type Client } from '../src/protocol/api.ts';
import { credentialTransport } from '../src/protocol/client-credentials.ts';
import { coreApi, portalApi } from '../src/protocol/routes.ts';
import type { Transport } from '../src/protocol/transport.ts';
import { systemClock } from '../src/shared/clock.ts';
import { openDatabase, nodeDatabase } from '../src/shared/db.ts';
import { RenkeiError } from '../src/shared/errors.ts';
import { openSecurityLog } from '../src/shared/security-log.ts';
import { schemaText, testDialect } from '../src/shared/test-databases.ts';
import { pkiPaths } from '../src/trust/pki/files.ts';
import { attemptWith, credentialOf } from './support/attacker.ts';
import { clause74Inquiry } from './support/demo-network.ts';
import {
  MUNICIPALITY,
  TAX_AGENCY,
  disposeWithTransports,
  startPortalNetwork,
  type PortalNetwork,
} from './support/portal-network.ts';
import { PortalResidents, waitFor } from './support/portal-residents.ts';

let net: PortalNetwork;
const transports: Transport[] = [];
const residents = new PortalResidents(() => net);

function send(label: string, title: string, body = `${title}の本文です。\n二行目。`) {
  return net.network.institution(MUNICIPALITY.id).sendResidentMessage({
    body: { addresseeNumber: residents.addressee(label), title, body },
  });
}

async function inbox(label: string) {
  return (await residents.as(label).go(`${net.portal.url}/notices`)).text;
}

/** The core's row of a notice (state and whether it still holds the ciphertext). */
async function coreRow(noticeId: string) {
  const db = await openDatabase<{
    portal_notices: { notice_id: string; sender_id: string; state: string; sealed: string | null };
  }>(nodeDatabase(net.postgres, join(net.dir, 'core', 'core.sqlite'), 'core'));
  try {
    return await db
      .selectFrom('portal_notices')
      .selectAll()
      .where('notice_id', '=', noticeId)
      .executeTakeFirst();
  } finally {
    await db.destroy();
  }
}

async function coreAs(partyId: string): Promise<Client<typeof coreApi>> {
  const pkiDir = net.network.pkiDir ?? '';
  const transport = await credentialTransport({
    pkiDir,
    parties: [partyId],
    clock: systemClock,
    crl: { file: pkiPaths(pkiDir).crlDer },
  });
  transports.push(transport);
  return createClient(coreApi, { transport, baseUrl: net.network.core.url, peer: 'core', party: 'core' });
}

beforeAll(async () => {
  net = await startPortalNetwork('portal-notices', { institutions: [TAX_AGENCY] });
  await residents.addThree();
}, 180_000);

afterAll(() => disposeWithTransports(net, transports));

describe('notices to residents at the Myna Portal', () => {
  it('delivers an institution’s notice to the right resident only, unread until opened', async () => {
    const sent = await send('hanako', '児童手当の現況届について');
    const text = await waitFor('the notice in 花子’s inbox', async () => {
      const page = await inbox('hanako');
      return page.includes('児童手当の現況届について') ? page : undefined;
    });
    expect(text).toContain('三条市'); // the sender, by the core's registry
    expect(text).toMatch(/令和\d+年\d+月\d+日（\d{4}年）/); // 和暦 and 西暦
    expect(text).toMatch(
      /<strong><a href="\/notices\/[^"]+" lang="ja">児童手当の現況届について<\/a><\/strong>/,
    );
    expect(text).toMatch(/data-unread-count[^>]*>1</);
    expect(await inbox('taro')).not.toContain('児童手当の現況届について');

    const home = (await residents.as('hanako').go(`${net.portal.url}/`)).text;
    expect(home).toContain('href="/notices"');
    expect(home).toMatch(/data-unread-count[^>]*>1</);

    // Another resident cannot open it by its id; its owner can, and it is read from then on.
    const other = await residents.as('taro').go(`${net.portal.url}/notices/${sent.noticeId}`);
    expect(other.response.status).toBe(404);
    const opened = await residents.as('hanako').go(`${net.portal.url}/notices/${sent.noticeId}`);
    expect(opened.response.status).toBe(200);
    expect(opened.text).toContain('児童手当の現況届についての本文です。\n二行目。');
    const after = await inbox('hanako');
    expect(after).toMatch(/data-unread-count[^>]*>0</);
    expect(after).not.toContain('<strong><a href');

    const row = await coreRow(sent.noticeId);
    expect(row).toMatchObject({ sender_id: MUNICIPALITY.id, state: 'delivered', sealed: null });
  });

  it('lets the National Tax Agency send notices, while the legal table gives it no inquiry', async () => {
    const nta = net.network.institution(TAX_AGENCY.id);
    const person = await nta.registerPerson({
      body: { individualNumber: residents.individualNumber('hanako') },
    });
    await nta.sendResidentMessage({
      body: {
        addresseeNumber: person.addresseeNumber,
        title: '確定申告のお知らせ',
        body: '申告期限は3月15日です。',
      },
    });
    const page = await waitFor('the NTA’s notice', async () => {
      const text = await inbox('hanako');
      return text.includes('確定申告のお知らせ') ? text : undefined;
    });
    expect(page).toContain('国税庁');
    const inquiry = await nta
      .inquire(clause74Inquiry(person.addresseeNumber, { providerId: MUNICIPALITY.id }))
      .then(
        () => 'accepted',
        (error: unknown) => (error instanceof RenkeiError ? error.code : error),
      );
    expect(inquiry).toBe('ERR_INQUIRY_NOT_AUTHORIZED');
    // Not this clause only: no clause of the legal table names it as a requester.
    const requesters = loadLegalTable().clauses.map((c) => c.requester);
    expect(
      requesters.some((r) => r.kinds.includes(TAX_AGENCY.kind) || r.institutions.includes(TAX_AGENCY.id)),
    ).toBe(false);
  });

  it('sends a notice with `renkei notices send`', async () => {
    const bodyFile = join(net.dir, 'notice.txt');
    writeFileSync(bodyFile, '保険料の納付期限は今月末です。\n三条市 国保年金課\n');
    const run = await residents.sendNotice('taro', '国民健康保険料のお知らせ', bodyFile);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Notice [0-9a-f-]{36} sent/);
    await waitFor('the CLI’s notice', async () =>
      (await inbox('taro')).includes('国民健康保険料のお知らせ') ? true : undefined,
    );
    const refused = await residents.sendNotice('taro', '二行の\n件名', bodyFile);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('ERR_VALIDATION');
  }, 60_000);

  it('refuses a forged code and another party’s code, and records both', async () => {
    const asMunicipality = await coreAs(MUNICIPALITY.id);
    const refusal = (personCode: string) =>
      asMunicipality
        .submitPortalNotice({
          body: { senderId: MUNICIPALITY.id, noticeId: randomUUID(), personCode, sealed: 'a.b.c.d.e' },
        })
        .then(
          () => undefined,
          (error: unknown) => (error instanceof RenkeiError ? error.code : error),
        );
    expect(await refusal('A'.repeat(44))).toBe('ERR_UNKNOWN_PERSON_CODE');
    // The portal's own code for 花子, as the municipality might have stolen it: not the municipality's.
    const db = await openDatabase<{ persons: { person_code: string } }>(net.portalDatabase);
    const portalCode = await db.selectFrom('persons').select('person_code').executeTakeFirstOrThrow();
    await db.destroy();
    expect(await refusal(portalCode.person_code)).toBe('ERR_UNKNOWN_PERSON_CODE');
    // Sending in another institution's name is refused before anything (the sender is the certificate).
    const impersonation = await asMunicipality
      .submitPortalNotice({
        body: { senderId: '131041', noticeId: randomUUID(), personCode: 'A'.repeat(44), sealed: 'a.b.c.d.e' },
      })
      .catch((error: unknown) => (error as RenkeiError).code);
    expect(impersonation).toBe('ERR_IDENTITY_MISMATCH');

    const log = await openSecurityLog(join(net.dir, 'core', 'security.sqlite'));
    try {
      const events = (await log.list(50)).filter((e) => e.route === 'core.submitPortalNotice');
      expect(
        events.filter((e) => e.code === 'ERR_UNKNOWN_PERSON_CODE' && e.partyId === MUNICIPALITY.id),
      ).toHaveLength(2);
      expect(events.some((e) => e.code === 'ERR_IDENTITY_MISMATCH')).toBe(true);
    } finally {
      await log.close();
    }
  });

  it('holds a notice for a resident who never logged in, and delivers it at their first login', async () => {
    const sent = await send('misaki', 'マイナポータルへようこそ');
    expect((await coreRow(sent.noticeId))?.state).toBe('held');
    await residents.logIn('misaki');
    await waitFor('the held notice delivered', async () =>
      (await inbox('misaki')).includes('マイナポータルへようこそ') ? true : undefined,
    );
    expect((await coreRow(sent.noticeId))?.state).toBe('delivered');
  });

  it('delivers a notice sent while the portal is down once it is back', async () => {
    await net.stopPortal();
    const sent = await send('taro', '住民税の納付について');
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the core's first attempts fail
    expect((await coreRow(sent.noticeId))?.state).toBe('pending');
    await net.startPortalAgain();
    await waitFor(
      'the notice delivered after the outage',
      async () => ((await coreRow(sent.noticeId))?.state === 'delivered' ? true : undefined),
      40_000,
    );
    expect(await inbox('taro')).toContain('住民税の納付について');
  }, 60_000);

  it('never stores the content at the core', async () => {
    const secret = `内容-${randomUUID()}`;
    const sent = await send('hanako', `件名-${secret}`, `本文-${secret}`);
    await waitFor('delivery', async () =>
      (await coreRow(sent.noticeId))?.state === 'delivered' ? true : undefined,
    );
    const held =
      testDialect() === 'sqlite'
        ? readFileSync(join(net.dir, 'core', 'core.sqlite')).toString('utf8') +
          readFileSync(join(net.dir, 'core', 'core.sqlite')).toString('latin1')
        : await schemaText(net.postgres!, `${net.postgres!.schemaPrefix ?? ''}core`);
    expect(held).not.toContain(secret);
    expect(held).not.toContain(Buffer.from(secret).toString('latin1'));
    expect(await inbox('hanako')).toContain(`件名-${secret}`);
  });

  it('lets only the core deliver to the portal', async () => {
    const pkiDir = net.network.pkiDir ?? '';
    const ca = readFileSync(pkiPaths(pkiDir).caBundle, 'utf8');
    const route = portalApi.deliverPortalNotice;
    const url = `${net.portal.networkUrl}${route.path}`;
    expect((await attemptWith(ca, url, { json: {} })).code).toBe('ERR_CLIENT_CERT_REQUIRED');
    for (const party of [MUNICIPALITY.id, 'jlis', `${MUNICIPALITY.id}:business`, 'portal']) {
      expect((await attemptWith(ca, url, { json: {}, as: credentialOf(pkiDir, party) })).code, party).toBe(
        'ERR_CALLER_NOT_ALLOWED',
      );
    }
  });
});
