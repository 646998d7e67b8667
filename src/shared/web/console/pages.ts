/**
 * The consoles' page layout and login page: the portal's stylesheet and design tokens, a header with
 * the console's name, the navigation, who is logged in, the language switch and the logout button.
 * No inline script or style (the CSP forbids them).
 */
import { isErrorCode, type ErrorCode } from '../../errors.ts';
import { html, toText, type Html } from '../html.ts';
import { langSwitchHref } from '../lang.ts';
import { CHROME, pick, type Lang } from './messages.ts';

export interface ConsoleChrome {
  service: { name: string; nameEn: string };
  lang: Lang;
  /** The current path, for the language switch to come back to. */
  path: string;
  /** Logged in: the navigation, the account and the logout form. */
  staff?: {
    displayName: string;
    csrfToken: string;
    nav: { href: string; label: string; current: boolean }[];
  };
}

export interface ConsolePageOptions {
  title: string;
  body: Html;
  /** ES modules under the console's assets (`/assets/<name>`), or at their own absolute path (`/…`). */
  scripts?: readonly string[];
}

export function consolePage(chrome: ConsoleChrome, options: ConsolePageOptions): string {
  const t = pick(CHROME, chrome.lang);
  const other = chrome.lang === 'ja' ? 'en' : 'ja';
  const serviceName = chrome.lang === 'ja' ? chrome.service.name : chrome.service.nameEn;
  const langLink = langSwitchHref(chrome.lang, chrome.path);
  return `<!doctype html>\n${toText(
    html`<html lang="${chrome.lang}">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} | ${serviceName}</title>
        <link rel="stylesheet" href="/assets/tokens.css" />
        <link rel="stylesheet" href="/assets/renkei.css" />
        <link rel="stylesheet" href="/assets/console.css" />
        ${(options.scripts ?? []).map((src) => html`<script type="module" src="${src.startsWith('/') ? src : `/assets/${src}`}"></script>`)}
      </head>
      <body class="console">
        <a class="skip-link" href="#main">${t.skip}</a>
        <header class="site-header">
          <div class="site-header__inner">
            <a class="site-header__name" href="/">${serviceName}</a>
            <div class="header-actions">
              <a class="lang-switch" href="${langLink}" lang="${other}" data-testid="lang-switch"
                >${t.switchLang}</a
              >
              ${
                chrome.staff
                  ? html`<span class="staff-name" data-testid="staff-name"
                        >${t.signedInAs}: ${chrome.staff.displayName}</span
                      >
                      <form method="post" action="/logout">
                        <input type="hidden" name="_csrf" value="${chrome.staff.csrfToken}" />
                        <button class="button button--secondary" type="submit">${t.logout}</button>
                      </form>`
                  : null
              }
            </div>
          </div>
          ${
            chrome.staff
              ? html`<nav class="console-nav" aria-label="${chrome.lang === 'ja' ? '業務メニュー' : 'Menu'}">
                  <ul>
                    ${chrome.staff.nav.map(
                      (item) =>
                        html`<li>
                          <a href="${item.href}" ${item.current ? html`aria-current="page"` : null}
                            >${item.label}</a
                          >
                        </li>`,
                    )}
                  </ul>
                </nav>`
              : null
          }
        </header>
        <main id="main" class="main main--wide">
          <h1 class="page-title">${options.title}</h1>
          ${options.body}
        </main>
        <footer class="site-footer"><p>${t.demo}</p></footer>
      </body>
    </html>`,
  )}\n`;
}

export function loginPage(
  chrome: ConsoleChrome,
  args: { csrfToken: string; notice?: string | undefined; error?: string | undefined; loginId?: string },
): string {
  const t = pick(CHROME, chrome.lang);
  return consolePage(chrome, {
    title: t.login,
    body: html`${args.notice ? html`<p class="notice notice--success" role="status">${args.notice}</p>` : null}
      ${
        args.error
          ? html`<p class="notice notice--error" role="alert" data-testid="login-error">${args.error}</p>`
          : null
      }
      <p class="lead">${t.loginLead}</p>
      <form method="post" action="/login" class="login-form">
        <input type="hidden" name="_csrf" value="${args.csrfToken}" />
        <div class="form-field">
          <label for="loginId">${t.loginId}</label>
          <input
            class="input"
            id="loginId"
            name="loginId"
            autocomplete="username"
            required
            maxlength="32"
            value="${args.loginId ?? ''}"
          />
        </div>
        <div class="form-field">
          <label for="password">${t.password}</label>
          <input
            class="input"
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            maxlength="128"
          />
        </div>
        <button class="button" type="submit">${t.login}</button>
      </form>`,
  });
}

/**
 * What staff read in Japanese for each refusal a console can show: what happened and what to do. The
 * service's own message (English, as the CLI and the API give it, and as an English page shows it
 * alone) follows as the detail.
 */
export const CONSOLE_ERROR_JA: Partial<Record<ErrorCode, string>> = {
  ERR_VALIDATION: '入力に誤りがあります。下の詳細を確かめて、直してからもう一度お試しください。',
  ERR_CALLER_NOT_ALLOWED:
    'この操作は受け付けられませんでした。この操作の権限があるアカウントでログインし、ページを開き直してからお試しください。',
  ERR_ROUTE_NOT_FOUND: 'ページが見つかりません。',
  ERR_LOGIN_FAILED: 'ログインIDまたはパスワードが違います。',
  ERR_LOGIN_THROTTLED:
    'ログインの失敗が続いたため、しばらくログインできません。少し待ってからもう一度お試しください。',
  ERR_PERSON_VIEW_GONE:
    'この個人別の表示はもう保持されていません（有効期限切れ、または別のアカウントの表示）。もう一度検索してください。',
  ERR_UNKNOWN_PERSON_CODE:
    'この機関別符号に当たる人はいません（別の機関の符号か、誤り）。機関コードと符号を確かめてください。',
  ERR_UNKNOWN_INSTITUTION: 'その機関は登録されていません。機関コードを確かめてください。',
  ERR_INSTITUTION_SUSPENDED: 'この機関は参加を停止されています。停止が解かれるまで照会はできません。',
  ERR_INQUIRY_NOT_AUTHORIZED:
    'この照会は別表第二で認められていません（項・事務手続・特定個人情報の組合せを確かめてください）。',
  ERR_UNKNOWN_ADDRESSEE_NUMBER: 'その宛名番号の住民は登録されていません。宛名番号を確かめてください。',
  ERR_NO_PERSON_CODE:
    'この住民の機関別符号はまだ取得されていません。符号を取得してからもう一度お試しください。',
  ERR_UNKNOWN_PROCESSING_NUMBER: 'その処理通番の記録はありません。',
  ERR_UNKNOWN_BULK_NUMBER: 'その一括照会はありません。',
  ERR_UNKNOWN_LEGAL_VERSION: 'その版の別表はありません。',
  ERR_LEGAL_TABLE_INVALID:
    '別表のファイルに誤りがあるため、何も保存していません。下の詳細を確かめて直してください。',
  ERR_REKEY_PENDING: 'この機関の符号の再発行が終わっていないため、鍵を更新できません。',
  ERR_KEY_VERSION_CHANGED: 'その間に鍵のバージョンが変わりました。ページを開き直してください。',
  ERR_DUPLICATE: '同じものがすでにあります。',
  ERR_ENCODING:
    'ファイルの文字コードを正しく読み取れなかったため、何も送っていません。文字コードを指定してもう一度お試しください。',
  ERR_BODY_TOO_LARGE: '送信された内容が大きすぎます。',
  ERR_ANSWER_NOT_READY: '提供機関からの回答はまだありません。しばらくしてから確かめてください。',
  ERR_ANSWER_GONE: 'この回答はもう保持されていません。',
  ERR_UPSTREAM_UNAVAILABLE:
    '他のシステム（コアシステムなど）に接続できませんでした。しばらくしてからもう一度お試しください。',
  ERR_DATABASE_UNAVAILABLE:
    'データベースに接続できません。しばらくしてからもう一度お試しください。続く場合は運用担当者に連絡してください。',
  ERR_DATABASE_BUSY: 'データベースが使用中です。しばらくしてからもう一度お試しください。',
  ERR_STORAGE_FULL:
    'ディスクに空きがないため記録できず、何も保存していません。運用担当者に連絡してください。',
  ERR_INTERNAL: '処理中に予期しないエラーが起きました。運用担当者に連絡してください。',
};

/** A console's error page (no session needed): the status, the stable code, the message, in the request's language. */
export function consoleErrorPage(
  error: { status: number; code: string; message: string },
  view: { lang: Lang },
): string {
  const en = view.lang === 'en';
  const said = en
    ? null
    : ((isErrorCode(error.code) ? CONSOLE_ERROR_JA[error.code] : undefined) ??
      '処理できませんでした。下の詳細を確かめてください。');
  return `<!doctype html>\n${toText(
    html`<html lang="${view.lang}">
      <head>
        <meta charset="utf-8" />
        <title>${String(error.status)}</title>
        <link rel="stylesheet" href="/assets/tokens.css" />
        <link rel="stylesheet" href="/assets/renkei.css" />
      </head>
      <body>
        <main class="main">
          <h1 class="page-title">${en ? 'Error' : 'エラー'} ${error.status}</h1>
          ${said === null ? null : html`<p class="notice notice--error" role="alert" data-wording>${said}</p>`}
          <p>${en ? null : html`<span class="hint">詳細（英語）: </span>`}${error.message}</p>
          <p><code>${error.code}</code></p>
          <p><a href="/">${en ? 'Back' : '戻る'}</a></p>
        </main>
      </body>
    </html>`,
  )}\n`;
}
