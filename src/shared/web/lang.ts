/**
 * The two languages of the pages a person opens in a browser (the Myna Portal, the card reader, the
 * consoles): Japanese (default) and English, chosen by the `lang` cookie. Each page set keeps a small
 * table of its strings, `{ key: { ja, en } }`; `pick(table, lang)` gives the strings of one language.
 * Not a framework: data (procedure and item names, institution names) stays as its source has it.
 *
 * The switch is `GET /lang?to=en&return=/path?query`, which every web app has (shared/web/server.ts): a plain link that works
 * without JavaScript, sets the cookie and goes back to the page. A GET that changes state would be a
 * CSRF hole if the state mattered; this one is a display preference only — no session, no record, no
 * data is touched — so the worst another site can do with it is show a resident the other language,
 * which the same link on every page undoes. The return address must be a path of this origin (never
 * `//host` or `/\host`), so the switch cannot send anyone elsewhere.
 *
 * Cookies ignore ports: on one host the portal and the card reader (another port) share the cookie,
 * so the reader follows the language chosen at the portal.
 */
import type { FastifyRequest } from 'fastify';

export type Lang = 'ja' | 'en';
export const LANG_COOKIE = 'lang';

export type MessageTable = Record<string, { ja: string; en: string }>;

export function pick<T extends MessageTable>(table: T, lang: Lang): { [K in keyof T]: string } {
  const out = {} as { [K in keyof T]: string };
  for (const key of Object.keys(table) as (keyof T)[]) out[key] = table[key]?.[lang] ?? '';
  return out;
}

/** `{n}`-style placeholders of a table's string filled in. */
export function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (_, key: string) => String(values[key] ?? ''));
}

export function langOf(cookie: string | undefined): Lang {
  return cookie === 'en' ? 'en' : 'ja';
}

/** The language of a raw `Cookie:` header (where no cookie parser runs: oidc-provider's own pages). */
export function langOfCookieHeader(header: string | undefined): Lang {
  return /(?:^|;\s*)lang=en(?:;|$)/.test(header ?? '') ? 'en' : 'ja';
}

/** The request's language: its `lang` cookie, Japanese by default. */
export function requestLang(request: FastifyRequest): Lang {
  return langOf(request.cookies[LANG_COOKIE]);
}

/** A path (and query) of this origin, or undefined: what the switch may go back to. */
const RETURN_PATH = /^\/(?![/\\])[\w\-/.~%]*(\?[\w\-.~%&=+]*)?$/;

export function safeReturnPath(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= 2000 && RETURN_PATH.test(value) ? value : undefined;
}

/** The switch's link to the other language, coming back to `path` (which must be a GET-able page). */ /** The page a request shows, to come back to after switching language: its URL if a GET, else `fallback`. */
export function viewPath(request: FastifyRequest, fallback = '/'): string {
  return request.method === 'GET' ? (safeReturnPath(request.url) ?? fallback) : fallback;
}

export function langSwitchHref(lang: Lang, path: string): string {
  const other: Lang = lang === 'ja' ? 'en' : 'ja';
  return `/lang?${new URLSearchParams({ to: other, return: safeReturnPath(path) ?? '/' }).toString()}`;
}
