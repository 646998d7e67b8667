/**
 * Server-rendered HTML for the resident-facing pages (the Myna Portal, the card reader): a tagged
 * template that escapes every value it is given, so that nothing typed or received can become
 * markup, and the one page layout both use. No inline script or style anywhere (the pages' CSP
 * forbids them): behaviour comes from the ES modules under `assets/`.
 */
import { langSwitchHref, type Lang } from './lang.ts';

const RAW = Symbol('raw html');

/** Markup that is already safe (made by `html`): passed through, not escaped again. */
export interface Html {
  readonly [RAW]: string;
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

type Value = string | number | Html | undefined | null | false | readonly Value[];

function render(value: Value): string {
  if (value === undefined || value === null || value === false) return '';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return escapeHtml(value);
  if (isHtml(value)) return value[RAW];
  return value.map(render).join('');
}

function isHtml(value: Html | readonly Value[]): value is Html {
  return RAW in value;
}

/** `html\`<p>${text}</p>\``: every interpolated value escaped unless it is `Html` itself. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return { [RAW]: out };
}

export function toText(markup: Html): string {
  return markup[RAW];
}

export interface PageOptions {
  /** The page's language (the `lang` cookie): the chrome's words, `<html lang>`, the switch's target. */
  lang?: Lang | undefined;
  /** The page to come back to after switching language (a GET-able path); no switch without it. */
  path?: string | undefined;
  /** The page title, in the page's language. */
  title: string;
  /**
   * The title's own language when it is not the page's: a notice's title is the sending institution's
   * text, in Japanese on a page in English (`lang` on the heading, so a screen reader reads it right).
   */
  titleLang?: Lang | undefined;
  /** The service's name in the header (マイナポータル, カードリーダー), each language's. */
  service: { name: string; nameEn: string; href: string };
  body: Html;
  /** Right-hand side of the header (a logout button). */
  headerAction?: Html | undefined;
  /** ES modules to load (`module` scripts, no inline script): under /assets/, or an absolute path. */
  scripts?: readonly string[];
}

const CHROME = {
  skip: { ja: '本文へ移動', en: 'Skip to content' },
  demo: {
    ja: 'これはデモです。本物のマイナポータルではありません。',
    en: 'A demonstration, not the real Myna Portal.',
  },
} as const;

/** A whole page: `<html lang>`, the design tokens and our stylesheet, a header (with the language switch), the main content. */
export function page(options: PageOptions): string {
  const lang = options.lang ?? 'ja';
  const other: Lang = lang === 'ja' ? 'en' : 'ja';
  const serviceName = lang === 'en' ? options.service.nameEn : options.service.name;
  return `<!doctype html>\n${toText(
    html`<html lang="${lang}">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} | ${serviceName}</title>
        <link rel="stylesheet" href="/assets/tokens.css" />
        <link rel="stylesheet" href="/assets/renkei.css" />
        ${(options.scripts ?? []).map(
          (src) =>
            html`<script type="module" src="${src.startsWith('/') ? src : `/assets/${src}`}"></script>`,
        )}
      </head>
      <body>
        <a class="skip-link" href="#main">${CHROME.skip[lang]}</a>
        <header class="site-header">
          <div class="site-header__inner">
            <a class="site-header__name" href="${options.service.href}">${serviceName}</a>
            <div class="header-actions">
              ${
                options.path === undefined
                  ? null
                  : html`<a
                      class="lang-switch"
                      href="${langSwitchHref(lang, options.path)}"
                      lang="${other}"
                      hreflang="${other}"
                      data-testid="lang-switch"
                      >${other === 'en' ? 'English' : '日本語'}</a
                    >`
              }
              ${options.headerAction}
            </div>
          </div>
        </header>
        <main id="main" class="main">
          <h1 class="page-title" ${options.titleLang === undefined ? '' : html`lang="${options.titleLang}"`}>
            ${options.title}
          </h1>
          ${options.body}
        </main>
        <footer class="site-footer">
          <p>${CHROME.demo[lang]}</p>
        </footer>
      </body>
    </html>`,
  )}\n`;
}
