/**
 * The consoles' page layout and login page: the portal's stylesheet and design tokens, a header with
 * the console's name, the navigation, who is logged in, the language switch and the logout button.
 * No inline script or style (the CSP forbids them).
 */
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

/** A console's error page (no session needed): the status, the stable code, the message, in the request's language. */
export function consoleErrorPage(
  error: { status: number; code: string; message: string },
  view: { lang: Lang },
): string {
  const en = view.lang === 'en';
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
          <p>${error.message}</p>
          <p><code>${error.code}</code></p>
          <p><a href="/">${en ? 'Back' : '戻る'}</a></p>
        </main>
      </body>
    </html>`,
  )}\n`;
}
