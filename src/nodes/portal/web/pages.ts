/**
 * The portal's pages, server-rendered, Japanese by default and English by the switch on every page
 * (shared/web/lang.ts): each module keeps its words in a `{ key: { ja, en } }` table. Nothing
 * personal is on any page: the portal knows the person only by its own id, and shows nothing of it.
 */
import { html, page, type Html } from '../../../shared/web/html.ts';
import type { FastifyRequest } from 'fastify';
import { fill, pick, requestLang, viewPath, type Lang, type MessageTable } from '../../../shared/web/lang.ts';
import type { ErrorCode } from '../../../shared/errors.ts';
import type { NoticeRow } from '../store.ts';
import { dateTimeIn } from './dates.ts';

export const SERVICE = { name: 'マイナポータル', nameEn: 'Myna Portal', href: '/' };

/** What every page is rendered for: the reader's language, and the page to come back to after switching it. */
export interface View {
  lang: Lang;
  /** A GET-able path of the page (with its query), for the language switch. */
  path: string;
}

/**
 * The view of a request: its language, and the page to come back to after switching it (the request's
 * URL for a GET; for a page rendered by a POST, `fallback`, a GET page showing the same thing).
 */
export function viewOf(request: FastifyRequest, fallback = '/'): View {
  return { lang: requestLang(request), path: viewPath(request, fallback) };
}

/** The page options every portal page shares: language, switch, service. */
export function chrome(view: View) {
  return { lang: view.lang, path: view.path, service: SERVICE };
}

export { fill } from '../../../shared/web/lang.ts';

/** The services of issue 9, A–E. */
export const PORTAL_SERVICES = [
  {
    id: 'a',
    name: { ja: 'やりとり履歴', en: 'Exchanges about me' },
    text: {
      ja: '行政機関の間でのあなたの情報のやりとりの記録を見る',
      en: 'See the record of your information exchanged between institutions',
    },
    href: '/exchanges',
  },
  {
    id: 'b',
    name: { ja: 'わたしの情報', en: 'My information' },
    text: { ja: '行政機関が持つあなたの情報を見る', en: 'See the information institutions hold about you' },
    href: '/my-information',
  },
  {
    id: 'c',
    name: { ja: 'お知らせ', en: 'Notices' },
    text: { ja: '行政機関からのお知らせを受け取る', en: 'Receive notices from institutions' },
    href: '/notices',
  },
  {
    id: 'd',
    name: { ja: '公金受取口座・公金決済', en: 'Benefit account and payments' },
    text: { ja: '給付金の受取口座の登録、納付', en: 'Register the account for benefits; pay' },
    href: '/account',
  },
  {
    id: 'e',
    name: { ja: 'ぴったりサービス', en: 'Find services and apply' },
    text: { ja: '手続を探して、オンラインで申請する', en: 'Find a procedure and apply online' },
    href: '/services',
  },
] as const;

/** The words of this module's pages (the login, home, notices, logged-out and error pages, the header). */
export const PAGES_TEXT = {
  logout: { ja: 'ログアウト', en: 'Log out' },
  notices: { ja: 'お知らせ', en: 'Notices' },
  unreadLabel: { ja: '未読 {n}件', en: '{n} unread' },
  loginTitle: { ja: 'ログイン', en: 'Log in' },
  loginLead: { ja: 'マイナンバーカードでログインします。', en: 'Log in with your Individual Number Card.' },
  loginStep1: {
    ja: '「カードリーダーでログインする」を押します。',
    en: 'Press “Log in with the card reader” below.',
  },
  loginStep2: {
    ja: 'カードリーダーで、あなたのカードを選び、利用者証明用電子証明書の暗証番号（数字4桁）を入力します。',
    en: 'At the card reader, choose your card and type the 4-digit PIN of its user-authentication certificate.',
  },
  loginStep3: {
    ja: '自動的にこのページに戻り、ログインが完了します。',
    en: 'You come back here automatically, logged in.',
  },
  pinOnlyAtReader: {
    ja: '暗証番号はカードリーダーにだけ入力します。マイナポータルが暗証番号をたずねることはありません。',
    en: 'Type your PIN only at the card reader. The portal never asks for it.',
  },
  loginButton: { ja: 'カードリーダーでログインする', en: 'Log in with the card reader' },
  loginExpiry: { ja: 'このログインの有効期限は5分です。', en: 'This login is valid for 5 minutes.' },
  homeTitle: { ja: 'ホーム', en: 'Home' },
  loggedIn: { ja: 'ログインしました。', en: 'You are logged in.' },
  services: { ja: 'サービス', en: 'Services' },
  unread: { ja: '未読', en: 'Unread' },
  unreadCount: { ja: '未読 {n}件', en: '{n} unread' },
  myApplications: {
    ja: 'ぴったりサービスで申請した手続（申請履歴）',
    en: 'What you applied for online (my applications)',
  },
  connectedServices: {
    ja: '連携サービス（情報の提供に同意したサービス）',
    en: 'Connected services (services you let receive your information)',
  },
  noticesLead: {
    ja: '行政機関からあなたへのお知らせです。未読は {n} 件です。新しいお知らせは、届くとここに表示されます。',
    en: 'Notices to you from public institutions; {n} unread. New ones appear here as they arrive.',
  },
  noNotices: { ja: 'お知らせはまだありません。', en: 'No notices yet.' },
  backHome: { ja: 'ホームに戻る', en: 'Back to home' },
  noticeTitle: { ja: 'お知らせ', en: 'Notice' },
  from: { ja: '差出人', en: 'From' },
  date: { ja: '日付', en: 'Date' },
  backToNotices: { ja: 'お知らせ一覧に戻る', en: 'Back to notices' },
  asSent: {
    ja: 'お知らせの件名と本文は、送った機関が書いたとおりに表示しています。',
    en: 'The title and text of a notice are shown as the institution wrote them, in Japanese.',
  },
  loggedOutTitle: { ja: 'ログアウトしました', en: 'Logged out' },
  loggedOut: {
    ja: 'ログアウトしました。共用のパソコンでは、ブラウザを閉じてください。',
    en: 'You are logged out. On a shared computer, close the browser.',
  },
  loginAgain: { ja: 'もう一度ログインする', en: 'Log in again' },
  errorTitle: { ja: 'ご利用いただけません', en: 'Something went wrong' },
  errorDefault: {
    ja: 'エラーが発生しました。しばらくしてからもう一度お試しください。',
    en: 'Something went wrong. Please try again later.',
  },
  code: { ja: 'コード', en: 'Code' },
  toLogin: { ja: 'ログインページへ', en: 'To the login page' },
} satisfies MessageTable;

/** The logout button of the header (a form with the session's CSRF token). */
export function logoutButton(lang: Lang, csrfToken: string): Html {
  return html`<form method="post" action="/logout">
    <input type="hidden" name="_csrf" value="${csrfToken}" />
    <button class="button button--secondary" type="submit">${PAGES_TEXT.logout[lang]}</button>
  </form>`;
}

/**
 * The header's お知らせ link with the unread count, which `notices.js` keeps current from the
 * portal's events; with the logout button.
 */
export function headerActions(lang: Lang, csrfToken: string, unread: number): Html {
  const t = pick(PAGES_TEXT, lang);
  return html`<a class="header-notices" href="/notices" data-testid="header-notices"
      >${t.notices}
      <span class="badge" data-unread-count aria-label="${fill(t.unreadLabel, { n: unread })}"
        >${unread}</span
      ></a
    >
    ${logoutButton(lang, csrfToken)}`;
}

export function loginPage(view: View, args: { readerLink: string; expiresAt: string }): string {
  const t = pick(PAGES_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.loginTitle,
    scripts: ['countdown.js'],
    body: html`<p class="lead">${t.loginLead}</p>
      <ol>
        <li>${t.loginStep1}</li>
        <li>${t.loginStep2}</li>
        <li>${t.loginStep3}</li>
      </ol>
      <p class="notice">${t.pinOnlyAtReader}</p>
      <p>
        <a class="button" href="${args.readerLink}" data-testid="reader-link">${t.loginButton}</a>
      </p>
      <p class="hint" data-expires-at="${args.expiresAt}">${t.loginExpiry}</p>`,
  });
}

export function landingPage(view: View, args: { csrfToken: string; unread?: number }): string {
  const t = pick(PAGES_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.homeTitle,
    scripts: ['notices.js'],
    headerAction: headerActions(view.lang, args.csrfToken, args.unread ?? 0),
    body: html`<p class="notice notice--success">${t.loggedIn}</p>
      <h2>${t.services}</h2>
      <ul class="services">
        ${PORTAL_SERVICES.map(
          (s) =>
            html`<li>
              <a class="service-card" href="${s.href}">
                <span class="service-card__title">${s.name[view.lang]}</span>
                <span class="hint">${s.text[view.lang]}</span>
                ${
                  s.id === 'c'
                    ? html`<span class="service-card__status" data-testid="home-unread"
                        >${
                          view.lang === 'en'
                            ? html`<span data-unread-count>${args.unread ?? 0}</span>
                                ${t.unread.toLowerCase()}`
                            : html`${t.unread} <span data-unread-count>${args.unread ?? 0}</span>件`
                        }</span
                      >`
                    : ''
                }
              </a>
            </li>`,
        )}
      </ul>
      <p>
        <a href="/services/applications" data-testid="home-applications">${t.myApplications}</a>
      </p>
      <p>
        <a href="/connected-services" data-testid="home-connected-services">${t.connectedServices}</a>
      </p>`,
  });
}

/** One row of the inbox; `notices.js` builds the same from a live event (keep the two alike). */
function noticeItem(lang: Lang, notice: NoticeRow): Html {
  // The title and the text are the institution's, as sent (in Japanese): said so, for screen readers.
  const title = html`<a href="/notices/${notice.noticeId}" lang="ja">${notice.title}</a>`;
  return html`<li class="inbox__item${notice.readAt === undefined ? ' inbox__item--unread' : ''}">
    <span class="inbox__sender">${notice.senderName}</span>
    <span class="inbox__title"
      >${
        notice.readAt === undefined
          ? html`<strong>${title}</strong> <span class="badge">${PAGES_TEXT.unread[lang]}</span>`
          : title
      }</span
    >
    <span class="inbox__date"
      ><time datetime="${notice.sentAt.toISOString()}">${dateTimeIn(lang, notice.sentAt)}</time></span
    >
  </li>`;
}

export function noticesPage(
  view: View,
  args: { csrfToken: string; unread: number; notices: readonly NoticeRow[] },
): string {
  const t = pick(PAGES_TEXT, view.lang);
  const [before, after] = t.noticesLead.split('{n}');
  return page({
    ...chrome(view),
    title: t.notices,
    scripts: ['notices.js'],
    headerAction: headerActions(view.lang, args.csrfToken, args.unread),
    body: html`<p class="lead">${before}<strong data-unread-count>${args.unread}</strong>${after}</p>
      <p class="hint" data-notices-empty ${args.notices.length > 0 ? 'hidden' : ''}>${t.noNotices}</p>
      <ul class="inbox" data-notice-list aria-live="polite">
        ${args.notices.map((n) => noticeItem(view.lang, n))}
      </ul>
      <p>
        <a href="/">${t.backHome}</a>
      </p>`,
  });
}

export function noticePage(
  view: View,
  args: {
    csrfToken: string;
    unread: number;
    notice: NoticeRow;
    /** What the notice carries besides its text (a payment request's panel). */
    extra?: Html | undefined;
  },
): string {
  const { notice } = args;
  const t = pick(PAGES_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: notice.title,
    titleLang: 'ja',
    scripts: ['notices.js'],
    headerAction: headerActions(view.lang, args.csrfToken, args.unread),
    body: html`<dl class="notice-meta">
        <dt>${t.from}</dt>
        <dd data-testid="notice-sender">${notice.senderName}</dd>
        <dt>${t.date}</dt>
        <dd>
          <time datetime="${notice.sentAt.toISOString()}">${dateTimeIn(view.lang, notice.sentAt)}</time>
        </dd>
      </dl>
      <div class="notice-body" data-testid="notice-body" lang="ja">${notice.body}</div>
      ${view.lang === 'en' ? html`<p class="hint" data-testid="notice-as-sent">${t.asSent}</p>` : ''}
      ${args.extra}
      <p>
        <a href="/notices">${t.backToNotices}</a>
      </p>`,
  });
}

export function loggedOutPage(view: View): string {
  const t = pick(PAGES_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.loggedOutTitle,
    body: html`<p class="notice notice--success">${t.loggedOut}</p>
      <p>
        <a class="button" href="/login">${t.loginAgain}</a>
      </p>`,
  });
}

/** What a resident reads for each refusal: what happened and what to do, in plain words. */
export const ERROR_WORDING: Partial<Record<ErrorCode, [string, string]>> = {
  ERR_MESSAGE_STALE: [
    'ログインの有効期限が過ぎました。もう一度ログインしてください。',
    'The login expired. Please log in again.',
  ],
  ERR_MESSAGE_REPLAYED: [
    'このログインは使用済みです。もう一度ログインしてください。',
    'This login was used already. Please log in again.',
  ],
  ERR_IDENTITY_MISMATCH: [
    'ログインを始めたブラウザと違います。もう一度ログインしてください。',
    'This login was begun in another browser. Please log in again.',
  ],
  ERR_CERT_REVOKED: [
    'このカードの電子証明書は失効しています。お住まいの市区町村の窓口にお問い合わせください。',
    'This card’s certificate is revoked. Please ask your municipality.',
  ],
  ERR_CERT_EXPIRED: [
    'このカードの電子証明書は有効期限が切れています。市区町村の窓口で更新してください。',
    'This card’s certificate has expired. Please renew it at your municipality.',
  ],
  ERR_CERT_UNTRUSTED: [
    'このカードの電子証明書を確認できませんでした。',
    'This card’s certificate could not be verified.',
  ],
  ERR_SIGNATURE_INVALID: [
    'カードの署名を確認できませんでした。もう一度ログインしてください。',
    'The card’s signature could not be verified. Please log in again.',
  ],
  ERR_REVOCATION_UNAVAILABLE: [
    '電子証明書の有効性を確認できませんでした。しばらくしてからもう一度お試しください。',
    'The certificate’s status could not be checked. Please try again later.',
  ],
  ERR_CALLER_NOT_ALLOWED: [
    'この操作は受け付けられませんでした。ページを開き直してください。',
    'This request was refused. Please reload the page.',
  ],
  ERR_ROUTE_NOT_FOUND: ['ページが見つかりません。', 'There is no page here.'],
  ERR_LOGIN_THROTTLED: [
    'この端末からのログインが続いたため、しばらくログインできません。1分ほど待ってからもう一度お試しください。',
    'Too many logins from this device: please wait a minute and try again.',
  ],
};

export function errorPage(
  error: { status: number; code: ErrorCode; message: string },
  view: View = { lang: 'ja', path: '/' },
): string {
  const t = pick(PAGES_TEXT, view.lang);
  const words = ERROR_WORDING[error.code];
  return page({
    ...chrome(view),
    title: t.errorTitle,
    body: html`<p class="notice notice--error" role="alert">
        ${words ? words[view.lang === 'en' ? 1 : 0] : t.errorDefault}
      </p>
      <p class="hint">${t.code}: <code data-testid="error-code">${error.code}</code></p>
      <p>
        <a class="button" href="/login">${t.toLogin}</a>
      </p>`,
  });
}
