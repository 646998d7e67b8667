/**
 * The portal's pages, server-rendered, Japanese first with the English beside it. Nothing personal
 * is on any of them: the portal knows the person only by its own id, and shows nothing of it.
 */
import { html, page, type Html } from '../../../shared/web/html.ts';
import type { ErrorCode } from '../../../shared/errors.ts';
import type { NoticeRow } from '../store.ts';
import { japaneseDateTime } from './dates.ts';

export const SERVICE = { name: 'マイナポータル', nameEn: 'Myna Portal', href: '/' };

/** The services of issue 9, A–E: those with an `href` are built, the others to come. */
export const PORTAL_SERVICES = [
  {
    id: 'a',
    name: 'やりとり履歴',
    nameEn: 'Exchanges about me',
    text: '行政機関の間でのあなたの情報のやりとりの記録を見る',
    href: '/exchanges',
  },
  {
    id: 'b',
    name: 'わたしの情報',
    nameEn: 'My information',
    text: '行政機関が持つあなたの情報を見る',
    href: '/my-information',
  },
  {
    id: 'c',
    name: 'お知らせ',
    nameEn: 'Notices',
    text: '行政機関からのお知らせを受け取る',
    href: '/notices',
  },
  {
    id: 'd',
    name: '公金受取口座・公金決済',
    nameEn: 'Benefit account and payments',
    text: '給付金の受取口座の登録、納付',
    href: '/account',
  },
  {
    id: 'e',
    name: 'ぴったりサービス',
    nameEn: 'Find services and apply',
    text: '手続を探して、オンラインで申請する',
    href: '/services',
  },
] as const;

function logoutButton(csrfToken: string): Html {
  return html`<form method="post" action="/logout">
    <input type="hidden" name="_csrf" value="${csrfToken}" />
    <button class="button button--secondary" type="submit">ログアウト <span lang="en">Log out</span></button>
  </form>`;
}

/**
 * The header's お知らせ link with the unread count, which `notices.js` keeps current from the
 * portal's events; with the logout button.
 */
export function headerActions(csrfToken: string, unread: number): Html {
  return html`<div class="header-actions">
    <a class="header-notices" href="/notices" data-testid="header-notices"
      >お知らせ <span lang="en">Notices</span>
      <span class="badge" data-unread-count aria-label="未読 ${unread}件">${unread}</span></a
    >
    ${logoutButton(csrfToken)}
  </div>`;
}

export function loginPage(args: { readerLink: string; expiresAt: string }): string {
  return page({
    title: 'ログイン',
    titleEn: 'Log in',
    service: SERVICE,
    scripts: ['countdown.js'],
    body: html`<p class="lead">マイナンバーカードでログインします。</p>
      <p class="en" lang="en">Log in with your Individual Number Card.</p>
      <ol>
        <li>
          「カードリーダーでログインする」を押します。<span class="en" lang="en"
            >Press the button below.</span
          >
        </li>
        <li>
          カードリーダーで、あなたのカードを選び、利用者証明用電子証明書の暗証番号（数字4桁）を入力します。<span
            class="en"
            lang="en"
            >At the card reader, choose your card and type its 4-digit PIN.</span
          >
        </li>
        <li>
          自動的にこのページに戻り、ログインが完了します。<span class="en" lang="en"
            >You come back here, logged in.</span
          >
        </li>
      </ol>
      <p class="notice">
        暗証番号はカードリーダーにだけ入力します。マイナポータルが暗証番号をたずねることはありません。<br /><span
          class="en"
          lang="en"
          >Type your PIN only at the card reader. The portal never asks for it.</span
        >
      </p>
      <p>
        <a class="button" href="${args.readerLink}" data-testid="reader-link"
          >カードリーダーでログインする <span lang="en">Log in with the card reader</span></a
        >
      </p>
      <p class="hint" data-expires-at="${args.expiresAt}">このログインの有効期限は5分です。</p>`,
  });
}

export function landingPage(args: { csrfToken: string; unread?: number }): string {
  return page({
    title: 'ホーム',
    titleEn: 'Home',
    service: SERVICE,
    scripts: ['notices.js'],
    headerAction: headerActions(args.csrfToken, args.unread ?? 0),
    body: html`<p class="notice notice--success">
        ログインしました。<span class="en" lang="en">You are logged in.</span>
      </p>
      <h2>サービス <span class="en" lang="en">Services</span></h2>
      <ul class="services">
        ${PORTAL_SERVICES.map(
          (s) =>
            html`<li>
              <a class="service-card" href="${s.href}">
                <span class="service-card__title">${s.name}</span>
                <span class="en" lang="en">${s.nameEn}</span>
                <span class="hint">${s.text}</span>
                ${
                  s.id === 'c'
                    ? html`<span class="service-card__status" data-testid="home-unread"
                        >未読 <span data-unread-count>${args.unread ?? 0}</span>件
                        <span lang="en">unread</span></span
                      >`
                    : ''
                }
              </a>
            </li>`,
        )}
      </ul>
      <p>
        <a href="/services/applications" data-testid="home-applications"
          >ぴったりサービスで申請した手続（申請履歴） <span lang="en">My applications</span></a
        >
      </p>
      <p>
        <a href="/connected-services" data-testid="home-connected-services"
          >連携サービス（情報の提供に同意したサービス） <span lang="en">Connected services</span></a
        >
      </p>`,
  });
}

/** One row of the inbox; `notices.js` builds the same from a live event (keep the two alike). */
function noticeItem(notice: NoticeRow): Html {
  const title = html`<a href="/notices/${notice.noticeId}">${notice.title}</a>`;
  return html`<li class="inbox__item${notice.readAt === undefined ? ' inbox__item--unread' : ''}">
    <span class="inbox__sender">${notice.senderName}</span>
    <span class="inbox__title"
      >${
        notice.readAt === undefined
          ? html`<strong>${title}</strong> <span class="badge">未読 <span lang="en">Unread</span></span>`
          : title
      }</span
    >
    <span class="inbox__date"
      ><time datetime="${notice.sentAt.toISOString()}">${japaneseDateTime(notice.sentAt)}</time></span
    >
  </li>`;
}

export function noticesPage(args: {
  csrfToken: string;
  unread: number;
  notices: readonly NoticeRow[];
}): string {
  return page({
    title: 'お知らせ',
    titleEn: 'Notices',
    service: SERVICE,
    scripts: ['notices.js'],
    headerAction: headerActions(args.csrfToken, args.unread),
    body: html`<p class="lead">
        行政機関からあなたへのお知らせです。未読は <strong data-unread-count>${args.unread}</strong> 件です。
      </p>
      <p class="en" lang="en">
        Notices to you from public institutions. New ones appear here as they arrive.
      </p>
      <p class="hint" data-notices-empty ${args.notices.length > 0 ? 'hidden' : ''}>
        お知らせはまだありません。<span lang="en">No notices yet.</span>
      </p>
      <ul class="inbox" data-notice-list aria-live="polite">
        ${args.notices.map(noticeItem)}
      </ul>
      <p>
        <a href="/">ホームに戻る <span lang="en">Back to home</span></a>
      </p>`,
  });
}

export function noticePage(args: {
  csrfToken: string;
  unread: number;
  notice: NoticeRow;
  /** What the notice carries besides its text (a payment request's panel). */
  extra?: Html | undefined;
}): string {
  const { notice } = args;
  return page({
    title: notice.title,
    titleEn: 'Notice',
    service: SERVICE,
    scripts: ['notices.js'],
    headerAction: headerActions(args.csrfToken, args.unread),
    body: html`<dl class="notice-meta">
        <dt>差出人 <span lang="en">From</span></dt>
        <dd data-testid="notice-sender">${notice.senderName}</dd>
        <dt>日付 <span lang="en">Date</span></dt>
        <dd><time datetime="${notice.sentAt.toISOString()}">${japaneseDateTime(notice.sentAt)}</time></dd>
      </dl>
      <div class="notice-body" data-testid="notice-body">${notice.body}</div>
      ${args.extra}
      <p>
        <a href="/notices">お知らせ一覧に戻る <span lang="en">Back to notices</span></a>
      </p>`,
  });
}

export function loggedOutPage(): string {
  return page({
    title: 'ログアウトしました',
    titleEn: 'Logged out',
    service: SERVICE,
    body: html`<p class="notice notice--success">
        ログアウトしました。共用のパソコンでは、ブラウザを閉じてください。<br /><span class="en" lang="en"
          >You are logged out. On a shared computer, close the browser.</span
        >
      </p>
      <p>
        <a class="button" href="/login">もう一度ログインする <span lang="en">Log in again</span></a>
      </p>`,
  });
}

/** What a resident reads for each refusal: what happened and what to do, in plain words. */
const WORDING: Partial<Record<ErrorCode, [string, string]>> = {
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

export function errorPage(error: { status: number; code: ErrorCode; message: string }): string {
  const [ja, en] = WORDING[error.code] ?? [
    'エラーが発生しました。しばらくしてからもう一度お試しください。',
    'Something went wrong. Please try again later.',
  ];
  return page({
    title: 'ご利用いただけません',
    titleEn: 'Something went wrong',
    service: SERVICE,
    body: html`<p class="notice notice--error" role="alert">
        ${ja}<br /><span class="en" lang="en">${en}</span>
      </p>
      <p class="hint">
        コード <span lang="en">Code</span>: <code data-testid="error-code">${error.code}</code>
      </p>
      <p>
        <a class="button" href="/login">ログインページへ <span lang="en">To the login page</span></a>
      </p>`,
  });
}
