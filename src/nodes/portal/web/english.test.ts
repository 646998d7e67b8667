/**
 * The portal's and the card reader's English: every page rendered in English has `<html lang="en">`,
 * a switch back to 日本語, and no Japanese left — neither a string of the pages' Japanese tables nor any
 * Japanese character at all, but for what stays Japanese on purpose: a notice's title and text (the
 * institution's own words, marked `lang="ja"`). Fixtures give the data as the network does, Japanese
 * names with their English (institutions, the legal table's procedures, items, layout labels and
 * attachments, the catalogue's choices), so that a Japanese character in an English page is chrome or
 * data someone forgot to translate. The Japanese pages are checked the other way: `lang="ja"`, the
 * switch to English, and no English sentence of the tables.
 */
import { describe, expect, it } from 'vitest';
import { loadLegalTable } from '../../../domain/legal-table/index.ts';
import type { ErrorCode } from '../../../shared/errors.ts';
import type { Lang, MessageTable } from '../../../shared/web/lang.ts';
import { toText } from '../../../shared/web/html.ts';
import {
  READER_TEXT,
  answerPage,
  documentAnswerPage,
  errorPage as readerErrorPage,
  homePage as readerHomePage,
  signDocumentPage,
  signPage,
} from '../../../card/reader/pages.ts';
import { API_PAGES_TEXT, connectedServicesPage, consentPage } from './api-pages.ts';
import { EXCHANGES_TEXT, RULE_WORDS, exchangesPage, exchangesUnavailablePage } from './exchanges-page.ts';
import {
  MONEY_TEXT,
  accountConfirmPage,
  accountFormPage,
  accountPage,
  checkoutPage,
  paymentPage,
  paymentPanel,
} from './money-pages.ts';
import { MY_INFORMATION_TEXT, myInformationPage } from './my-information-page.ts';
import {
  ERROR_WORDING,
  PAGES_TEXT,
  PORTAL_SERVICES,
  errorPage,
  landingPage,
  loggedOutPage,
  loginPage,
  noticePage,
  noticesPage,
} from './pages.ts';
import {
  SERVICES_TEXT,
  applyPage,
  finderPage,
  myApplicationsPage,
  receivedPage,
  signRequestPage,
} from './services-page.ts';
import type { FinderResult } from '../service/finder.ts';

const legal = loadLegalTable();
const at = new Date('2026-11-27T11:31:00Z');
const csrfToken = 'csrf-token';

const ERROR_TABLE: MessageTable = Object.fromEntries(
  Object.entries(ERROR_WORDING).map(([code, [ja, en]]) => [code, { ja, en }]),
);
const SERVICE_TABLE: MessageTable = Object.fromEntries(
  PORTAL_SERVICES.flatMap((s): [string, { ja: string; en: string }][] => [
    [`${s.id}-name`, s.name],
    [`${s.id}-text`, s.text],
  ]),
);
const TABLES: MessageTable[] = [
  PAGES_TEXT,
  EXCHANGES_TEXT,
  RULE_WORDS,
  MY_INFORMATION_TEXT,
  MONEY_TEXT,
  SERVICES_TEXT,
  API_PAGES_TEXT,
  ERROR_TABLE,
  SERVICE_TABLE,
  READER_TEXT,
];

/** The literal pieces of a table's string (between `{placeholders}`), long enough to be telling. */
function pieces(text: string, min: number): string[] {
  return text
    .split(/\{\w+\}/)
    .map((p) => p.trim())
    .filter((p) => p.length >= min);
}

const JAPANESE = /[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]/g;

/** A notice as its institution wrote it: Japanese on every page (marked `lang="ja"`). */
const NOTICE_TITLE = '固定資産税のお知らせ';
const NOTICE_BODY = '第3期分を納付してください。';

/** What stays Japanese on an English page: the switch's own 「日本語」, and the notice's own words. */
const ALLOWED_JAPANESE = [
  '日本語',
  'ヤマダ　タロウ', // the example of a katakana account name: the field is typed in katakana
  NOTICE_TITLE,
  NOTICE_BODY,
];

/** The page's visible text and attributes people read, without the data allowed to stay Japanese. */
function chromeOf(markup: string): string {
  // A choice's value is what the form sends (the Japanese the municipality reads), not what is shown.
  let text = markup.replace(/<option value="[^"]*"/g, '<option');
  for (const data of ALLOWED_JAPANESE.sort((a, b) => b.length - a.length)) text = text.replaceAll(data, '');
  return text;
}

function expectEnglish(name: string, markup: string): void {
  expect(markup, name).toContain('<html lang="en">');
  expect(markup, `${name}: the switch back`).toMatch(/data-testid="lang-switch"[^>]*>日本語</);
  const chrome = chromeOf(markup);
  for (const table of TABLES) {
    for (const [key, { ja }] of Object.entries(table)) {
      for (const piece of pieces(ja, 2)) {
        if (!JAPANESE.test(piece)) continue;
        JAPANESE.lastIndex = 0;
        expect(chrome.includes(piece), `${name}: Japanese chrome left (${key}: ${piece})`).toBe(false);
      }
    }
  }
  JAPANESE.lastIndex = 0;
  const left = chrome.match(JAPANESE);
  expect(left?.join('') ?? '', `${name}: Japanese characters left`).toBe('');
}

function expectJapanese(name: string, markup: string): void {
  expect(markup, name).toContain('<html lang="ja">');
  expect(markup, `${name}: the switch`).toMatch(/data-testid="lang-switch"[^>]*>English</);
  for (const table of TABLES) {
    for (const [key, { en }] of Object.entries(table)) {
      // Sentences only: a word such as "Code" may well be part of a Japanese page's data.
      for (const piece of pieces(en, 25)) {
        expect(markup.includes(piece), `${name}: English beside the Japanese (${key}: ${piece})`).toBe(false);
      }
    }
  }
}

const finderResult: FinderResult = {
  municipality: { id: '152048', name: '三条市', nameEn: 'Sanjo City' },
  procedure: {
    id: 'kosodate-01',
    name: '児童手当の認定請求',
    nameEn: 'Child allowance: application',
    lifeEvents: ['kosodate'],
    procedureId: '074-01',
    attachmentsOmitted: ['課税証明書'],
    attachmentsOmittedEn: ['Tax certificate'],
    form: [
      { name: 'childName', label: '児童の氏名', labelEn: 'Child’s name', type: 'text', required: true },
      { name: 'birthDate', label: '生年月日', labelEn: 'Date of birth', type: 'date', required: true },
      { name: 'count', label: '人数', labelEn: 'Number', type: 'integer', required: false, min: 1, max: 9 },
      { name: 'note', label: '備考', labelEn: 'Note', type: 'textarea', required: false },
      {
        name: 'relationship',
        label: '続柄',
        labelEn: 'Relationship',
        type: 'select',
        required: true,
        options: ['子', '孫'],
        optionsEn: ['Child', 'Grandchild'],
      },
      {
        name: 'phone',
        label: '電話番号',
        labelEn: 'Phone',
        type: 'text',
        required: true,
        hint: 'ハイフンなし',
        hintEn: 'Without hyphens',
      },
    ],
  },
};

const record = (outcome: 'provided' | 'not_held' | 'refused' | 'failed' | 'pending', n: number) => ({
  processingNumber: `PN${String(n).padStart(20, '0')}`,
  requestedAt: at.toISOString(),
  answeredAt: null,
  requesterId: '152048',
  requesterName: '三条市',
  requesterNameEn: 'Sanjo City',
  providerId: '131041',
  providerName: '新宿区',
  providerNameEn: 'Shinjuku City',
  clauseNo: '74',
  procedureId: '074-01',
  itemNos: [2],
  outcome,
  reason: outcome === 'refused' ? 'item_not_allowed' : null,
  evidence: [],
});

const notice = {
  noticeId: '00000000-0000-4000-8000-000000000001',
  personId: 'p',
  senderId: '152048',
  // The sender's English name is the router's to put in (router.ts, from the registry's names).
  senderName: 'Sanjo City',
  title: NOTICE_TITLE,
  body: NOTICE_BODY,
  sentAt: at,
  receivedAt: at,
  readAt: undefined,
};
const payment = {
  noticeId: notice.noticeId,
  personId: 'p',
  senderId: '152048',
  amount: 12345,
  dueDate: '2026-12-25',
  payee: 'Sanjo City',
  reference: 'R-1',
  paidAt: undefined,
  receipt: undefined,
  confirmedAt: undefined,
};
const account = {
  personId: 'p',
  bankCode: '0001',
  branchCode: '001',
  accountType: 'ordinary' as const,
  accountNumber: '0012345',
  holderName: 'TEST',
  registeredAt: at,
  updatedAt: at,
};
const cards = [
  { file: 'a.card', label: 'card-a', pinTriesLeft: 3 },
  { file: 'b.card', label: 'card-b', pinTriesLeft: 0 },
];
const documentView = {
  municipalityName: '三条市',
  procedureName: '児童手当の認定請求',
  lines: [
    { label: '児童の氏名', value: 'Hanako' },
    { label: '続柄', value: '子' },
  ],
  attachmentsOmitted: ['課税証明書'],
  en: {
    municipalityName: 'Sanjo City',
    procedureName: 'Child allowance: application',
    lines: [
      { label: 'Child’s name', value: 'Hanako' },
      { label: 'Relationship', value: 'Child' },
    ],
    attachmentsOmitted: ['Tax certificate'],
  },
};

/** Every page of the portal and the reader, in one language, with what makes each of its parts show. */
function pages(lang: Lang): [string, string][] {
  const view = { lang, path: '/here' };
  const exchangePage = {
    records: (['provided', 'not_held', 'refused', 'failed', 'pending'] as const).map((o, i) => record(o, i)),
    treeHead: null,
    nextCursor: null,
  };
  return [
    ['login', loginPage(view, { readerLink: 'http://reader/sign', expiresAt: at.toISOString() })],
    ['home', landingPage(view, { csrfToken, unread: 2 })],
    ['notices', noticesPage(view, { csrfToken, unread: 1, notices: [notice] })],
    ['notices (empty)', noticesPage(view, { csrfToken, unread: 0, notices: [] })],
    ['notice', noticePage(view, { csrfToken, unread: 0, notice, extra: paymentPanel(lang, payment) })],
    ['logged out', loggedOutPage(view)],
    ...Object.keys(ERROR_WORDING).map((code): [string, string] => [
      `error ${code}`,
      errorPage({ status: 400, code: code as ErrorCode, message: 'm' }, view),
    ]),
    ['error (other)', errorPage({ status: 500, code: 'ERR_INTERNAL', message: 'm' }, view)],
    [
      'exchanges',
      exchangesPage(view, {
        csrfToken,
        page: exchangePage,
        legal,
        key: {} as never,
        later: false,
        notices: {
          rows: [
            { ...notice, logIndex: 3 },
            { ...notice, logIndex: 12 },
          ],
          signedSize: 10,
        },
      }),
    ],
    [
      'exchanges (empty, later)',
      exchangesPage(view, {
        csrfToken,
        page: { records: [], treeHead: null, nextCursor: null },
        legal,
        key: {} as never,
        later: true,
      }),
    ],
    ['exchanges unavailable', exchangesUnavailablePage(view, { csrfToken })],
    [
      'my information (none)',
      myInformationPage(view, { csrfToken, retrieval: undefined, legal, keepMinutes: 15 }),
    ],
    [
      'my information',
      myInformationPage(view, {
        csrfToken,
        legal,
        keepMinutes: 15,
        retrieval: {
          personId: 'p',
          startedAt: at,
          expiresAt: at,
          entries: [
            {
              providerId: '131041',
              providerName: '新宿区',
              providerNameEn: 'Shinjuku City',
              itemNos: [2, 31],
              state: 'provided',
              processingNumber: 'PN1',
              items: [
                {
                  itemNo: 2,
                  layoutVersion: legal.layoutFor(2, at)?.version ?? '1',
                  data: legal.layoutFor(2, at)?.example ?? {},
                },
              ],
            },
            {
              providerId: 'x1',
              providerName: '東京都',
              providerNameEn: 'Tokyo',
              itemNos: [2],
              state: 'not_held',
            },
            {
              providerId: 'x2',
              providerName: '日本年金機構',
              providerNameEn: 'Pension',
              itemNos: [2],
              state: 'refused',
            },
            { providerId: 'x3', providerName: '他', providerNameEn: 'Other', itemNos: [2], state: 'failed' },
            {
              providerId: 'x4',
              providerName: '遅い',
              providerNameEn: 'Slow',
              itemNos: [2],
              state: 'pending',
            },
          ],
        },
      }),
    ],
    ['account form', accountFormPage(view, { csrfToken })],
    [
      'account form (problems)',
      accountFormPage(view, {
        csrfToken,
        given: {},
        problems: {
          bankCode: ['金融機関コードは数字4桁で入力してください。', 'Enter the 4-digit bank code.'],
          accountType: ['預金種目を選んでください。', 'Choose the account type.'],
        },
      }),
    ],
    [
      'account confirm',
      accountConfirmPage(view, {
        csrfToken,
        values: {
          bankCode: '0001',
          branchCode: '001',
          accountType: 'ordinary',
          accountNumber: '0012345',
          holderName: 'TEST',
        },
      }),
    ],
    ['account', accountPage(view, { csrfToken, account, said: 'saved' })],
    ['payment', paymentPage(view, { csrfToken, payment })],
    [
      'payment (paid)',
      paymentPage(view, { csrfToken, payment: { ...payment, paidAt: at, receipt: 'X' }, done: true }),
    ],
    [
      'checkout',
      checkoutPage(view, {
        checkoutId: 'c',
        formToken: 't',
        personId: 'p',
        noticeId: notice.noticeId,
        amount: 100,
        payee: 'Sanjo City',
        dueDate: '2026-12-25',
        reference: 'R',
        expiresAt: at,
        state: 'open',
      }),
    ],
    [
      'finder',
      finderPage(view, {
        csrfToken,
        unread: 0,
        lifeEvents: [{ id: 'kosodate', name: '子育て', nameEn: 'Raising children' }],
        municipalities: [finderResult.municipality],
        query: { lifeEvent: 'kosodate' },
        results: [finderResult],
      }),
    ],
    [
      'finder (none)',
      finderPage(view, { csrfToken, unread: 0, lifeEvents: [], municipalities: [], query: {}, results: [] }),
    ],
    [
      'apply',
      applyPage(view, {
        csrfToken,
        unread: 0,
        found: finderResult,
        given: {},
        errors: { childName: { ja: '児童の氏名を入力してください。', en: 'Enter the child’s name.' } },
      }),
    ],
    [
      'sign request',
      signRequestPage(view, {
        csrfToken,
        unread: 0,
        readerLink: 'http://reader/',
        procedureName: 'Child allowance',
        municipalityName: 'Sanjo City',
        lines: [],
      }),
    ],
    [
      'received',
      receivedPage(view, {
        csrfToken,
        unread: 0,
        municipalityName: 'Sanjo City',
        application: { applicationNumber: 'A1', procedureName: 'Child allowance', receivedAt: at } as never,
      }),
    ],
    [
      'my applications',
      myApplicationsPage(view, {
        csrfToken,
        unread: 0,
        applications: [
          {
            applicationNumber: 'A1',
            procedureName: 'Child allowance',
            municipalityName: 'Sanjo City',
            receivedAt: at,
            downloadedAt: undefined,
          },
          {
            applicationNumber: 'A2',
            procedureName: 'Child allowance',
            municipalityName: 'Sanjo City',
            receivedAt: at,
            downloadedAt: at,
          },
        ],
      }),
    ],
    ['my applications (none)', myApplicationsPage(view, { csrfToken, unread: 0, applications: [] })],
    [
      'consent',
      consentPage(view, {
        csrfToken,
        unread: 0,
        uid: 'u',
        clientName: 'Kakeibo',
        scopes: ['item:2', 'application'],
        offline: false,
        legal,
        until: at,
      }),
    ],
    [
      'consent, access kept (offline_access)',
      consentPage(view, {
        csrfToken,
        unread: 0,
        uid: 'u',
        clientName: 'Kakeibo',
        scopes: ['item:2', 'offline_access'],
        offline: true,
        legal,
        until: at,
      }),
    ],
    [
      'connected services',
      connectedServicesPage(view, {
        csrfToken,
        unread: 0,
        legal,
        now: at,
        revoked: true,
        clientName: () => 'Kakeibo',
        providerName: () => 'Shinjuku City',
        grants: [
          {
            grantId: 'g1',
            personId: 'p',
            clientId: 'c',
            scopes: ['item:2'],
            grantedAt: at,
            expiresAt: new Date(at.getTime() + 1e9),
            revokedAt: undefined,
          },
          {
            grantId: 'g2',
            personId: 'p',
            clientId: 'c',
            scopes: ['application'],
            grantedAt: at,
            expiresAt: at,
            revokedAt: at,
          },
          {
            grantId: 'g3',
            personId: 'p',
            clientId: 'c',
            scopes: ['item:2'],
            grantedAt: at,
            expiresAt: at,
            revokedAt: undefined,
          },
        ],
        releases: [
          {
            releaseId: 'r',
            personId: 'p',
            clientId: 'c',
            grantId: 'g1',
            providerId: 'x',
            itemNos: [2],
            processingNumber: 'PN',
            releasedAt: at,
          },
        ],
      }),
    ],
    [
      'connected services (none)',
      connectedServicesPage(view, {
        csrfToken,
        unread: 0,
        legal,
        now: at,
        clientName: () => '',
        providerName: () => '',
        grants: [],
        releases: [],
      }),
    ],
    ['reader home', readerHomePage(view, { cards })],
    ...['wrong:2', 'locked', 'format', 'choose', undefined].map((error): [string, string] => [
      `reader sign ${error}`,
      signPage(view, {
        cards,
        portal: 'http://portal',
        fields: { challenge: 'c', expires: 'e', return: 'r', token: 't' },
        ...(error ? { error } : {}),
      }),
    ]),
    [
      'reader answer',
      answerPage(view, {
        action: 'http://portal/login/complete',
        portal: 'http://portal',
        challenge: 'c',
        certificate: 'x',
        signature: 'y',
      }),
    ],
    ['reader error', readerErrorPage({ status: 403, code: 'ERR_CALLER_NOT_ALLOWED', message: 'm' }, view)],
    ['reader error (other)', readerErrorPage({ status: 500, code: 'ERR_INTERNAL', message: 'm' }, view)],
    ...['wrong:4', 'locked', 'format', 'nosigning', 'choose', undefined].map((error): [string, string] => [
      `reader sign document ${error}`,
      signDocumentPage(view, {
        cards,
        portal: 'http://portal',
        document: documentView,
        fields: { request: 'r', portal: 'http://portal', token: 't' },
        ...(error ? { error } : {}),
      }),
    ]),
    [
      'reader document answer',
      documentAnswerPage(view, { action: 'http://portal/x', portal: 'http://portal', signedData: 'x' }),
    ],
  ];
}

describe('the portal’s and the card reader’s two languages', () => {
  it('renders every page in English with lang="en", the switch back, and no Japanese chrome', () => {
    const rendered = pages('en');
    expect(rendered.length).toBeGreaterThan(40);
    for (const [name, markup] of rendered) expectEnglish(name, markup);
  });

  it('renders every page in Japanese with lang="ja", the switch, and no English beside it', () => {
    for (const [name, markup] of pages('ja')) expectJapanese(name, markup);
  });

  it('shows dates in 和暦 with the Western year in Japanese, Western dates in English', () => {
    const [, ja] = pages('ja').find(([n]) => n === 'notices') ?? [];
    const [, en] = pages('en').find(([n]) => n === 'notices') ?? [];
    expect(ja).toContain('令和8年11月27日（2026年）20:31');
    expect(en).toContain('27 November 2026, 20:31 JST');
  });

  it('gives data in English where the legal table and the catalogue have it (item, procedure, municipality)', () => {
    const en = new Map(pages('en'));
    expect(en.get('exchanges')).toContain(legal.findItem(2)?.nameEn ?? '?');
    expect(en.get('exchanges')).toContain(legal.findProcedure('074-01')?.nameEn ?? '?');
    expect(en.get('finder')).toContain('Sanjo City');
    expect(en.get('finder')).not.toContain('三条市');
    expect(en.get('apply')).toContain('Child’s name');
    expect(toText(paymentPanel('en', payment))).toContain('¥12,345');
  });

  it('gives the data that was Japanese only in English too: institutions, layout labels, attachments, choices', () => {
    const en = new Map(pages('en'));
    const ja = new Map(pages('ja'));
    const labels = legal.layoutFor(2, at)?.fields ?? [];
    expect(labels.length).toBeGreaterThan(3);
    for (const f of labels) {
      expect(en.get('my information'), f.name).toContain(`<dt>${f.labelEn}</dt>`);
      expect(ja.get('my information'), f.name).toContain(`<dt>${f.label}</dt>`);
    }
    expect(en.get('my information')).toContain('Shinjuku City');
    expect(ja.get('my information')).toContain('新宿区');
    expect(en.get('exchanges')).toContain('Sanjo City');
    expect(en.get('exchanges')).toContain('Child Allowance Act');
    expect(ja.get('exchanges')).toContain('三条市');
    expect(en.get('finder')).toContain('Tax certificate');
    expect(ja.get('finder')).toContain('課税証明書');
    // A choice shows in English; the value sent stays the Japanese the municipality reads.
    expect(en.get('apply')).toMatch(/<option value="子"[^>]*>\s*Child\s*<\/option>/);
    expect(ja.get('apply')).toMatch(/<option value="子"[^>]*>\s*子\s*<\/option>/);
    expect(en.get('apply')).toContain('Without hyphens');
    expect(ja.get('apply')).toContain('ハイフンなし');
    const reader = en.get('reader sign document undefined') ?? '';
    expect(reader).toContain('Sanjo City');
    expect(reader).toContain('Tax certificate');
  });

  it('leaves a notice as its institution wrote it, marked lang="ja" for screen readers, and says so in English', () => {
    for (const lang of ['en', 'ja'] as const) {
      const markup = new Map(pages(lang)).get('notice') ?? '';
      expect(markup).toMatch(new RegExp(`<h1 class="page-title"\\s+lang="ja">\\s*${NOTICE_TITLE}`));
      expect(markup).toMatch(new RegExp(`data-testid="notice-body" lang="ja">${NOTICE_BODY}<`));
      expect(markup.includes('data-testid="notice-as-sent"')).toBe(lang === 'en');
      const inbox = new Map(pages(lang)).get('notices') ?? '';
      expect(inbox).toContain(`lang="ja">${NOTICE_TITLE}</a>`);
    }
  });

  it('keeps the page to come back to in the switch, and only a path of this origin', () => {
    const home = landingPage({ lang: 'ja', path: '/services?event=kosodate' }, { csrfToken });
    expect(home).toContain('href="/lang?to=en&amp;return=%2Fservices%3Fevent%3Dkosodate"');
    const elsewhere = landingPage({ lang: 'ja', path: '//evil.example/' }, { csrfToken });
    expect(elsewhere).toContain('href="/lang?to=en&amp;return=%2F"');
  });
});
