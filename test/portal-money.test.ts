/**
 * Service D of the Myna Portal (公金受取口座・公金決済), end to end on a real network (the core, J-LIS,
 * 三条市 and 東京都, the portal; real SQLite files, real HTTP and mutual TLS, real crypto): a resident
 * registers their public-funds receiving account (each field checked in words they can act on, a
 * confirm step, change, delete); a municipality finds it through the network under clause 130, the
 * portal answering as a provider (not held when there is none); a notice carries a payment request,
 * the resident pays through the demo provider, the institution's business API shows it paid, and it
 * can never be paid twice. Who may call each new endpoint, and that nobody else can.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/protocol/api.ts';
import { credentialTransport } from '../src/protocol/client-credentials.ts';
import { coreApi, networkApi } from '../src/protocol/routes.ts';
import type { Transport } from '../src/protocol/transport.ts';
import { DEMO_INSTITUTIONS } from '../src/network/world.ts';
import { systemClock } from '../src/shared/clock.ts';
import { openDatabase } from '../src/shared/db.ts';
import { RenkeiError } from '../src/shared/errors.ts';
import { pkiPaths } from '../src/trust/pki/files.ts';
import { attemptWith, credentialOf } from './support/attacker.ts';
import {
  MUNICIPALITY,
  disposeWithTransports,
  startPortalNetwork,
  type PortalNetwork,
} from './support/portal-network.ts';
import { Browser, formOf, unescapeHtml } from './support/portal-web.ts';
import { PortalResidents, waitFor } from './support/portal-residents.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PREFECTURE = DEMO_INSTITUTIONS.find((i) => i.id === '130001')!;
let net: PortalNetwork;
const transports: Transport[] = [];
const residents = new PortalResidents(() => net);

/** Post a page's form (its hidden fields, with `fields` over them) as the browser would. */
async function submit(label: string, pagePath: string, action: string, fields: Record<string, string> = {}) {
  const browser = residents.as(label);
  const { text } = await browser.go(`${net.portal.url}${pagePath}`);
  return browser.go(`${net.portal.url}${action}`, {
    form: { ...formOf(text, action), ...fields },
    origin: net.portal.url,
  });
}

const GOOD = {
  bankCode: '０００１',
  branchCode: '123',
  accountType: 'ordinary',
  accountNumber: '0034567',
  holderName: 'サンジョウ ハナコ',
};

async function register(label: string, account: Record<string, string> = GOOD) {
  const confirm = await submit(label, '/account/edit', '/account/confirm', account);
  expect(confirm.response.status).toBe(200);
  const browser = residents.as(label);
  const saved = await browser.go(`${net.portal.url}/account`, {
    form: formOf(confirm.text, '/account'),
    origin: net.portal.url,
  });
  expect(saved.response.status).toBe(303);
}

/** 三条市's clerk asks for the resident's account under clause 130, and waits for the answer. */
async function inquireAccount(label: string) {
  const institution = net.network.institution(MUNICIPALITY.id);
  const accepted = await institution.inquire({
    body: {
      addresseeNumber: residents.addressee(label),
      providerId: 'portal',
      clauseNo: '130',
      procedureId: '130-01',
      itemNos: [70],
    },
  });
  return institution.getInquiry({
    params: { processingNumber: accepted.processingNumber },
    query: { waitMs: 20_000 },
  });
}

function sendBill(label: string, reference: string, amount = 12_300) {
  return net.network.institution(MUNICIPALITY.id).sendResidentMessage({
    body: {
      addresseeNumber: residents.addressee(label),
      title: '固定資産税の納付のお願い',
      body: '第1期分の納付をお願いします。',
      payment: { amount, dueDate: '2026-12-25', payee: '三条市', reference },
    },
  });
}

async function delivered(label: string, noticeId: string): Promise<string> {
  return waitFor('the notice', async () => {
    const { response, text } = await residents.as(label).go(`${net.portal.url}/notices/${noticeId}`);
    return response.status === 200 ? text : undefined;
  });
}

/** Start a checkout from the payment page: the provider's page. */
async function checkout(label: string, noticeId: string) {
  const started = await submit(label, `/payments/${noticeId}`, `/payments/${noticeId}`);
  expect(started.response.status).toBe(303);
  const location = started.response.headers.get('location') ?? '';
  expect(location).toMatch(/^\/demo-pay\//);
  const page = await residents.as(label).go(`${net.portal.url}${location}`);
  return { path: location, page: page.text };
}

async function confirmCheckout(label: string, c: { path: string; page: string }) {
  return residents
    .as(label)
    .go(`${net.portal.url}${c.path}`, { form: formOf(c.page, c.path), origin: net.portal.url });
}

beforeAll(async () => {
  net = await startPortalNetwork('portal-money', { institutions: [PREFECTURE] });
  await residents.addThree();
}, 180_000);

afterAll(() => disposeWithTransports(net, transports));

describe('the public-funds receiving account (公金受取口座)', () => {
  it('says what is wrong with each field, in Japanese, and keeps what was typed', async () => {
    const { response, text } = await submit('hanako', '/account', '/account/confirm', {
      bankCode: '12',
      branchCode: 'abc',
      accountType: '',
      accountNumber: '12345',
      holderName: 'Hanako',
    });
    expect(response.status).toBe(400);
    const page = unescapeHtml(text);
    expect(page).toContain('金融機関コードは数字4桁で入力してください');
    expect(page).toContain('支店番号（店番）は数字3桁で入力してください');
    expect(page).toContain('預金種目（普通・当座）を選んでください');
    expect(page).toContain('前に0を付けてください');
    expect(page).toContain('口座名義は全角カタカナ');
    expect(page).toContain('value="12345"');
  });

  it('registers after a confirm step, full-width digits taken as digits', async () => {
    const confirm = await submit('hanako', '/account', '/account/confirm', GOOD);
    expect(confirm.response.status).toBe(200);
    expect(confirm.text).toContain('この内容で登録します');
    expect(confirm.text).toContain('0001');
    // Nothing saved before the confirm step is posted.
    expect((await residents.as('hanako').go(`${net.portal.url}/account`)).text).toContain('account-next');
    await register('hanako');
    const shown = await residents.as('hanako').go(`${net.portal.url}/account?saved=1`);
    expect(shown.text).toContain('公金受取口座を登録しました');
    expect(shown.text).toContain('0034567');
    expect(shown.text).toContain('サンジョウ　ハナコ');
  });

  it('shows a resident their own account only, and only with a session and the form’s token', async () => {
    expect((await residents.as('taro').go(`${net.portal.url}/account`)).text).not.toContain('0034567');
    const stranger = new Browser();
    expect((await stranger.go(`${net.portal.url}/account`)).response.headers.get('location')).toBe('/login');
    const noToken = await residents.as('taro').go(`${net.portal.url}/account`, {
      form: { ...GOOD, _csrf: 'wrong' },
      origin: net.portal.url,
    });
    expect(noToken.response.status).toBe(403);
    const { text } = await residents.as('taro').go(`${net.portal.url}/account`);
    const other = await residents.as('taro').go(`${net.portal.url}/account`, {
      form: { ...formOf(text, '/account/confirm'), ...GOOD },
      origin: 'https://evil.example',
    });
    expect(other.response.status).toBe(403);
    expect((await residents.as('taro').go(`${net.portal.url}/account`)).text).toContain('account-next');
  });
});

describe('an institution finds the account through the network (clause 130)', () => {
  it('is provided to 三条市 for the resident who registered it, with the layout’s fields', async () => {
    const status = await inquireAccount('hanako');
    expect(status.outcome).toBe('provided');
    expect(status.items?.[0]?.itemNo).toBe(70);
    expect(status.items?.[0]?.data).toMatchObject({
      bankCode: '0001',
      branchCode: '123',
      accountType: 'ordinary',
      accountNumber: '0034567',
      holderName: 'サンジョウ　ハナコ',
    });
    // Three parties hold the record: the portal's own, as provider.
    const db = await openDatabase<{ provider_records: { processing_number: string; outcome: string } }>(
      net.portalDatabase,
    );
    try {
      const rows = await db
        .selectFrom('provider_records')
        .selectAll()
        .where('processing_number', '=', status.processingNumber)
        .execute();
      expect(rows.map((r) => r.outcome)).toEqual(['provided']);
    } finally {
      await db.destroy();
    }
    // The resident sees the exchange on page A, like any other.
    const a = await residents.as('hanako').go(`${net.portal.url}/exchanges`);
    expect(a.text).toContain('公金受取口座情報');
    expect(a.text).toContain(status.processingNumber);
  });

  it('answers not held, not an error, when no account is registered or the person never logged in', async () => {
    expect((await inquireAccount('taro')).outcome).toBe('not_held');
    expect((await inquireAccount('misaki')).outcome).toBe('not_held');
  });

  it('refuses the account under another clause (児童手当, 74): only clause 130 names the portal', async () => {
    const institution = net.network.institution(MUNICIPALITY.id);
    await expect(
      institution.inquire({
        body: {
          addresseeNumber: residents.addressee('hanako'),
          providerId: 'portal',
          clauseNo: '74',
          procedureId: '074-01',
          itemNos: [70],
        },
      }),
    ).rejects.toMatchObject({ code: 'ERR_INQUIRY_NOT_AUTHORIZED' });
  });

  it('lets only the core ask the portal', async () => {
    const pkiDir = net.network.pkiDir ?? '';
    const ca = readFileSync(pkiPaths(pkiDir).caBundle, 'utf8');
    for (const route of [networkApi.requestProvision, networkApi.notifyProvisionFailure]) {
      const url = `${net.portal.networkUrl}${route.path}`;
      expect((await attemptWith(ca, url, { json: {} })).code).toBe('ERR_CLIENT_CERT_REQUIRED');
      for (const party of [MUNICIPALITY.id, 'jlis', `${MUNICIPALITY.id}:business`]) {
        expect((await attemptWith(ca, url, { json: {}, as: credentialOf(pkiDir, party) })).code, party).toBe(
          'ERR_CALLER_NOT_ALLOWED',
        );
      }
    }
  });

  it('changes and deletes: the next inquiry gets the new account, then none', async () => {
    const { text } = await residents.as('hanako').go(`${net.portal.url}/account/edit`);
    expect(text).toContain('value="0034567"');
    await register('hanako', { ...GOOD, accountNumber: '7654321' });
    expect((await inquireAccount('hanako')).items?.[0]?.data).toMatchObject({ accountNumber: '7654321' });
    const deleted = await submit('hanako', '/account', '/account/delete');
    expect(deleted.response.status).toBe(303);
    expect((await inquireAccount('hanako')).outcome).toBe('not_held');
    await register('hanako');
  });
});

describe('payments from a notice (公金決済)', () => {
  it('pays through the demo provider, and the institution sees it paid', async () => {
    const sent = await sendBill('hanako', 'TAX-2026-0001');
    const business = net.network.institution(MUNICIPALITY.id);
    expect(await business.getPaymentRequest({ params: { noticeId: sent.noticeId } })).toMatchObject({
      status: 'requested',
      amount: 12_300,
      reference: 'TAX-2026-0001',
    });
    const notice = await delivered('hanako', sent.noticeId);
    expect(unescapeHtml(notice)).toContain('12,300円');
    expect(notice).toContain('data-testid="pay"');
    const c = await checkout('hanako', sent.noticeId);
    expect(c.page).toContain('デモの決済事業者');
    const paid = await confirmCheckout('hanako', c);
    expect(paid.response.status).toBe(303);
    const done = await residents
      .as('hanako')
      .go(`${net.portal.url}${paid.response.headers.get('location') ?? ''}`);
    expect(done.text).toContain('お支払いが完了しました');
    const receipt = /data-testid="payment-receipt">([^<]+)</.exec(done.text)?.[1];
    expect(receipt).toMatch(/^DEMO-/);
    const status = await waitFor('the institution to see it paid', async () => {
      const s = await business.getPaymentRequest({ params: { noticeId: sent.noticeId } });
      return s.status === 'paid' ? s : undefined;
    });
    expect(status.receipt).toBe(receipt);
    expect((await residents.as('hanako').go(`${net.portal.url}/notices/${sent.noticeId}`)).text).toContain(
      'お支払い済みです',
    );
  });

  it('can never be paid twice: a second checkout, or one opened before, is refused and charges nothing', async () => {
    const sent = await sendBill('hanako', 'TAX-2026-0002', 5_000);
    await delivered('hanako', sent.noticeId);
    const first = await checkout('hanako', sent.noticeId);
    const second = await checkout('hanako', sent.noticeId);
    expect((await confirmCheckout('hanako', first)).response.status).toBe(303);
    const again = await confirmCheckout('hanako', second);
    expect(again.response.status).toBe(409);
    expect(again.text).toContain('checkout-ended');
    // Replaying the first checkout's form changes nothing either.
    expect((await confirmCheckout('hanako', first)).response.status).toBe(303);
    // And once paid, the portal starts no checkout at all.
    const { text: accountPage } = await residents.as('hanako').go(`${net.portal.url}/account`);
    const started = await residents.as('hanako').go(`${net.portal.url}/payments/${sent.noticeId}`, {
      form: formOf(accountPage, '/account/delete'),
      origin: net.portal.url,
    });
    expect(started.response.headers.get('location')).toBe(`/payments/${sent.noticeId}`);
    const business = net.network.institution(MUNICIPALITY.id);
    const status = await waitFor('paid', async () => {
      const s = await business.getPaymentRequest({ params: { noticeId: sent.noticeId } });
      return s.status === 'paid' ? s : undefined;
    });
    const page = await residents.as('hanako').go(`${net.portal.url}/payments/${sent.noticeId}`);
    expect(page.text).toContain(`data-testid="payment-receipt">${status.receipt ?? '?'}<`);
  });

  it('shows a payment to its resident only', async () => {
    const sent = await sendBill('hanako', 'TAX-2026-0003');
    await delivered('hanako', sent.noticeId);
    expect(
      (await residents.as('taro').go(`${net.portal.url}/payments/${sent.noticeId}`)).response.status,
    ).toBe(404);
    const { text } = await residents.as('taro').go(`${net.portal.url}/account`);
    const tried = await residents.as('taro').go(`${net.portal.url}/payments/${sent.noticeId}`, {
      form: { _csrf: formOf(text, '/account/confirm')._csrf ?? '' },
      origin: net.portal.url,
    });
    expect(tried.response.status).toBe(404);
  });

  it('lets only that institution’s business systems read the status, and only the core relay', async () => {
    const sent = await sendBill('hanako', 'TAX-2026-0004');
    const pkiDir = net.network.pkiDir ?? '';
    const ca = readFileSync(pkiPaths(pkiDir).caBundle, 'utf8');
    const institutionUrl = net.network.institutions.get(MUNICIPALITY.id)?.url ?? '';
    const statusUrl = `${institutionUrl}/business/v1/payment-requests/${sent.noticeId}`;
    for (const party of [`${PREFECTURE.id}:business`, PREFECTURE.id, 'portal', 'core']) {
      expect((await attemptWith(ca, statusUrl, { as: credentialOf(pkiDir, party) })).code, party).toBe(
        'ERR_CALLER_NOT_ALLOWED',
      );
    }
    const deliverUrl = `${institutionUrl}${networkApi.deliverPaymentConfirmation.path}`;
    for (const party of ['portal', PREFECTURE.id, `${MUNICIPALITY.id}:business`]) {
      expect(
        (await attemptWith(ca, deliverUrl, { json: {}, as: credentialOf(pkiDir, party) })).code,
        party,
      ).toBe('ERR_CALLER_NOT_ALLOWED');
    }
    const relayUrl = `${net.network.core.url}${coreApi.relayPaymentConfirmation.path}`;
    for (const party of [MUNICIPALITY.id, `${MUNICIPALITY.id}:business`, 'jlis']) {
      expect(
        (await attemptWith(ca, relayUrl, { json: {}, as: credentialOf(pkiDir, party) })).code,
        party,
      ).toBe('ERR_CALLER_NOT_ALLOWED');
    }
    await expect(
      net.network.institution(MUNICIPALITY.id).getPaymentRequest({ params: { noticeId: randomUUID() } }),
    ).rejects.toMatchObject({ code: 'ERR_UNKNOWN_NOTICE' });
  });

  it('relays a confirmation only for a notice the core delivered to the portal', async () => {
    const transport = await credentialTransport({
      pkiDir: net.network.pkiDir ?? '',
      parties: ['portal'],
      clock: systemClock,
      crl: { file: pkiPaths(net.network.pkiDir ?? '').crlDer },
    });
    transports.push(transport);
    const core = createClient(coreApi, {
      transport,
      baseUrl: net.network.core.url,
      peer: 'core',
      party: 'core',
    });
    const error = await core
      .relayPaymentConfirmation({ body: { portalId: 'portal', noticeId: randomUUID(), sealed: 'a.b.c.d.e' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RenkeiError);
    expect((error as RenkeiError).code).toBe('ERR_UNKNOWN_NOTICE');
  });

  it('sends a payment request with `renkei notices send --payment`, and refuses a malformed one', async () => {
    const bodyFile = join(net.dir, 'bill.txt');
    writeFileSync(bodyFile, '第2期分の納付をお願いします。\n');
    const send = (...payment: string[]) =>
      residents.sendNotice('taro', '固定資産税の納付のお願い', bodyFile, ...payment);
    const run = await send(
      '--payment',
      '4500',
      '--due',
      '2027-01-31',
      '--payee',
      '三条市',
      '--reference',
      'CLI-0002',
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('4,500 yen to 三条市 by 2027-01-31 (reference CLI-0002)');
    const noticeId = /^Notice ([0-9a-f-]{36}) sent/.exec(run.stdout)?.[1] ?? '';
    expect(
      await net.network.institution(MUNICIPALITY.id).getPaymentRequest({ params: { noticeId } }),
    ).toMatchObject({ status: 'requested', amount: 4500, dueDate: '2027-01-31', reference: 'CLI-0002' });
    // The resident sees the payment on the notice.
    expect(await delivered('taro', noticeId)).toContain(`/payments/${noticeId}`);
    for (const [args, words] of [
      [['--payment', '12.5', '--due', '2027-01-31', '--payee', '三条市', '--reference', 'X'], 'whole yen'],
      [['--payment', '4500', '--payee', '三条市'], '--due, --reference'],
      [
        ['--payment', '4500', '--due', '2027-02-30x', '--payee', '三条市', '--reference', 'X'],
        '--due must be a date',
      ],
      [['--due', '2027-01-31'], 'go with --payment'],
    ] as const) {
      const refused = await send(...args);
      expect(refused.status, args.join(' ')).toBe(1);
      expect(refused.stderr).toContain('ERR_VALIDATION');
      expect(refused.stderr).toContain(words);
    }
  }, 60_000);
});
