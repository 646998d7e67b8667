/**
 * わたしの情報 (my information): the button that asks, the progress while answers arrive, then one
 * section per institution with each item under its name and the data layout's labels (the layout's
 * Japanese label, or its English one in English; the values are as the institution holds them). A provider that failed or refused gets a line saying what it means
 * for the resident. The results block (`#my-information-results`) is the same markup whether the
 * page is loaded or `my-information.js` fetches it again as answers arrive (it swaps that block only).
 */
import type { LegalTable } from '../../../domain/legal-table/types.ts';
import { html, page, type Html } from '../../../shared/web/html.ts';
import { pick, type Lang, type MessageTable } from '../../../shared/web/lang.ts';
import type { Retrieval, RetrievalEntry } from '../service/my-information.ts';
import { dateIn, dateTimeIn } from './dates.ts';
import { chrome, fill, logoutButton, type View } from './pages.ts';

export const MY_INFORMATION_SCRIPT = 'my-information.js';

export const MY_INFORMATION_TEXT = {
  title: { ja: 'わたしの情報', en: 'My information' },
  pending: { ja: '取得中です…', en: 'Waiting for the answer…' },
  notHeld: {
    ja: 'この機関は、あなたについてこれらの情報を保有していません。',
    en: 'This institution holds none of this information about you.',
  },
  refused: {
    ja: 'マイナポータルには、この機関にこの情報を照会する権限がありませんでした。情報が無いという意味ではありません。',
    en: 'The portal may not ask this institution for this information. It does not mean there is none.',
  },
  failed: {
    ja: 'この機関から情報を取得できませんでした（機関のシステムが応答しなかったか、回答を確認できませんでした）。情報が無いという意味ではありません。しばらくしてから、もう一度「情報を取得する」を押してください。',
    en: 'The information could not be obtained from this institution (it did not answer, or its answer could not be verified). It does not mean there is none. Please press “Fetch my information” again later.',
  },
  yes: { ja: 'はい', en: 'Yes' },
  no: { ja: 'いいえ', en: 'No' },
  itemFallback: { ja: '特定個人情報 {n}', en: 'Item {n}' },
  layoutVersion: { ja: 'データ標準レイアウト {v} 版', en: 'Data standard layout, version {v}' },
  partlyHeld: {
    ja: '次の情報は、この機関では保有していません: {items}',
    en: 'This institution does not hold: {items}',
  },
  nothingYet: { ja: 'まだ取得していません。', en: 'Nothing fetched yet.' },
  asked: { ja: '照会した情報: {items}', en: 'Information asked for: {items}' },
  processingNumber: { ja: '処理通番', en: 'Processing number' },
  allAnswered: {
    ja: '{total}機関すべてから回答がありました（{at}に取得）。',
    en: 'All {total} institutions answered (fetched {at}).',
  },
  someAnswered: {
    ja: '{total}機関のうち {settled}機関から回答がありました。',
    en: '{settled} of {total} institutions have answered.',
  },
  holdingNothing: { ja: '情報を保有していない機関', en: 'Institutions holding nothing about you' },
  lead: {
    ja: '行政機関などが持っているあなたの情報を、情報提供ネットワークシステムを通じて取得して表示します。',
    en: 'The portal asks the institutions that hold your information, through the network, and shows it here.',
  },
  fetch: { ja: '情報を取得する', en: 'Fetch my information' },
  kept: {
    ja: '取得した情報はこの画面に表示するためだけに使い、マイナポータルには保存しません。{m}分たつか、ログアウトすると消去されます。照会の記録は「やりとり履歴」に残ります。',
    en: 'What is fetched is only shown here and never stored; it is erased after {m} minutes or when you log out. The inquiries appear in your exchange history.',
  },
  history: { ja: 'やりとり履歴を見る', en: 'Exchange history' },
  backHome: { ja: 'ホームに戻る', en: 'Back to home' },
} satisfies MessageTable;

/** What a provider's outcome means for the resident, in plain words. */
function outcomeLine(entry: RetrievalEntry, lang: Lang): Html {
  const t = pick(MY_INFORMATION_TEXT, lang);
  switch (entry.state) {
    case 'pending':
      return html`<p class="hint" data-state="pending">${t.pending}</p>`;
    case 'not_held':
      return html`<p class="hint" data-state="not_held">${t.notHeld}</p>`;
    case 'refused':
      return html`<p class="notice notice--error" data-state="refused">${t.refused}</p>`;
    case 'failed':
      return html`<p class="notice notice--error" data-state="failed">${t.failed}</p>`;
    case 'provided':
      return html``;
  }
}

function value(type: string | undefined, raw: unknown, lang: Lang): string {
  if (raw === undefined || raw === null) return '—';
  if (type === 'boolean') return MY_INFORMATION_TEXT[raw === true ? 'yes' : 'no'][lang];
  if (type === 'date' && typeof raw === 'string') return dateIn(lang, raw);
  return typeof raw === 'string' || typeof raw === 'number' ? String(raw) : JSON.stringify(raw);
}

function itemName(legal: LegalTable, n: number, lang: Lang): string {
  const item = legal.findItem(n);
  return (lang === 'en' ? item?.nameEn : item?.name) ?? fill(MY_INFORMATION_TEXT.itemFallback[lang], { n });
}

function itemNames(legal: LegalTable, itemNos: readonly number[], lang: Lang): string {
  return itemNos.map((n) => itemName(legal, n, lang)).join(lang === 'en' ? ', ' : '、');
}

function providedItems(entry: RetrievalEntry, legal: LegalTable, on: Date, lang: Lang): Html {
  const t = pick(MY_INFORMATION_TEXT, lang);
  const items = entry.items ?? [];
  const held = new Set(items.map((i) => i.itemNo));
  const missing = entry.itemNos.filter((n) => !held.has(n));
  return html`${items.map((item) => {
    const layout = legal.layoutFor(item.itemNo, on);
    const fields = layout?.fields ?? [];
    const known = new Set(fields.map((f) => f.name));
    return html`<div class="my-info__item" data-item-no="${item.itemNo}">
      <h3>${itemName(legal, item.itemNo, lang)}</h3>
      <dl class="notice-meta">
        ${fields
          .filter((f) => item.data[f.name] !== undefined)
          .map(
            (f) =>
              html`<dt>${lang === 'en' ? f.labelEn : f.label}</dt>
                <dd>${value(f.type, item.data[f.name], lang)}</dd>`,
          )}
        ${Object.keys(item.data)
          .filter((k) => !known.has(k))
          .map(
            (k) =>
              html`<dt>${k}</dt>
                <dd>${value(undefined, item.data[k], lang)}</dd>`,
          )}
      </dl>
      <p class="hint">${fill(t.layoutVersion, { v: item.layoutVersion })}</p>
    </div>`;
  })}
  ${
    missing.length > 0
      ? html`<p class="hint" data-state="partly_held">
          ${fill(t.partlyHeld, { items: itemNames(legal, missing, lang) })}
        </p>`
      : ''
  }`;
}

/** The results block: progress, then a section per institution. */
export function myInformationResults(args: {
  lang: Lang;
  retrieval: Retrieval | undefined;
  legal: LegalTable;
}): Html {
  const { retrieval, legal, lang } = args;
  const t = pick(MY_INFORMATION_TEXT, lang);
  if (!retrieval) {
    return html`<div id="my-information-results" data-settled="true">
      <p class="hint">${t.nothingYet}</p>
    </div>`;
  }
  const total = retrieval.entries.length;
  const settled = retrieval.entries.filter((e) => e.state !== 'pending').length;
  const provided = retrieval.entries.filter((e) => e.state === 'provided');
  const notHeld = retrieval.entries.filter((e) => e.state === 'not_held');
  const trouble = retrieval.entries.filter((e) => e.state === 'refused' || e.state === 'failed');
  const pending = retrieval.entries.filter((e) => e.state === 'pending');
  const section = (entry: RetrievalEntry) =>
    html`<section class="my-info__provider" data-provider="${entry.providerId}" data-state="${entry.state}">
      <h2>${lang === 'en' ? entry.providerNameEn : entry.providerName}</h2>
      ${
        entry.state === 'provided'
          ? providedItems(entry, legal, retrieval.startedAt, lang)
          : outcomeLine(entry, lang)
      }
      ${
        entry.state === 'pending' || entry.state === 'provided'
          ? ''
          : html`<p class="hint">${fill(t.asked, { items: itemNames(legal, entry.itemNos, lang) })}</p>`
      }
      ${
        entry.processingNumber === undefined
          ? ''
          : html`<p class="hint">${t.processingNumber}: ${entry.processingNumber}</p>`
      }
    </section>`;
  return html`<div
    id="my-information-results"
    data-settled="${settled === total ? 'true' : 'false'}"
    data-answered="${settled}"
    aria-live="polite"
  >
    <p data-testid="my-information-progress">
      ${
        settled === total
          ? fill(t.allAnswered, { total, at: dateTimeIn(lang, retrieval.startedAt) })
          : fill(t.someAnswered, { total, settled })
      }
    </p>
    <progress max="${total}" value="${settled}">${settled} / ${total}</progress>
    ${provided.map(section)} ${trouble.map(section)} ${pending.map(section)}
    ${
      notHeld.length > 0
        ? html`<section class="my-info__none" data-state="not_held">
            <h2>${t.holdingNothing}</h2>
            <p>
              ${
                lang === 'en'
                  ? notHeld.map((e) => e.providerNameEn).join(', ')
                  : notHeld.map((e) => e.providerName).join('、')
              }
            </p>
          </section>`
        : ''
    }
  </div>`;
}

export function myInformationPage(
  view: View,
  args: {
    csrfToken: string;
    retrieval: Retrieval | undefined;
    legal: LegalTable;
    keepMinutes: number;
  },
): string {
  const t = pick(MY_INFORMATION_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.title,
    scripts: [MY_INFORMATION_SCRIPT],
    headerAction: logoutButton(view.lang, args.csrfToken),
    body: html`<p class="lead">${t.lead}</p>
      <form method="post" action="/my-information">
        <input type="hidden" name="_csrf" value="${args.csrfToken}" />
        <button class="button" type="submit" data-testid="fetch-my-information">${t.fetch}</button>
      </form>
      <p class="hint">${fill(t.kept, { m: args.keepMinutes })}</p>
      ${myInformationResults({ lang: view.lang, retrieval: args.retrieval, legal: args.legal })}
      <p>
        <a href="/exchanges">${t.history}</a> ${view.lang === 'en' ? '·' : '・'}
        <a href="/">${t.backHome}</a>
      </p>`,
  });
}
