/**
 * Server-rendered HTML for the resident-facing pages (the Myna Portal, the card reader): a tagged
 * template that escapes every value it is given, so that nothing typed or received can become
 * markup, and the one page layout both use. No inline script or style anywhere (the pages' CSP
 * forbids them): behaviour comes from the ES modules under `assets/`.
 */

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
  /** Japanese first: the page title in Japanese, the English beside it. */
  title: string;
  titleEn: string;
  /** The service's name in the header (マイナポータル, カードリーダー). */
  service: { name: string; nameEn: string; href: string };
  body: Html;
  /** Right-hand side of the header (a logout button). */
  headerAction?: Html;
  /** ES modules to load (`module` scripts, no inline script): under /assets/, or an absolute path. */
  scripts?: readonly string[];
}

/** A whole page: lang="ja", the design tokens and our stylesheet, a header, the main content. */
export function page(options: PageOptions): string {
  return `<!doctype html>\n${toText(
    html`<html lang="ja">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} | ${options.service.name}</title>
        <link rel="stylesheet" href="/assets/tokens.css" />
        <link rel="stylesheet" href="/assets/renkei.css" />
        ${(options.scripts ?? []).map(
          (src) =>
            html`<script type="module" src="${src.startsWith('/') ? src : `/assets/${src}`}"></script>`,
        )}
      </head>
      <body>
        <a class="skip-link" href="#main">本文へ移動 <span lang="en">Skip to content</span></a>
        <header class="site-header">
          <div class="site-header__inner">
            <a class="site-header__name" href="${options.service.href}">
              ${options.service.name}<span class="site-header__en" lang="en">${options.service.nameEn}</span>
            </a>
            ${options.headerAction}
          </div>
        </header>
        <main id="main" class="main">
          <h1 class="page-title">
            ${options.title}<span class="page-title__en" lang="en">${options.titleEn}</span>
          </h1>
          ${options.body}
        </main>
        <footer class="site-footer">
          <p>
            これはデモです。本物のマイナポータルではありません。<span lang="en"
              >A demonstration, not the real Myna Portal.</span
            >
          </p>
        </footer>
      </body>
    </html>`,
  )}\n`;
}
