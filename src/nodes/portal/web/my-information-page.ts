/**
 * わたしの情報 (my information): the button that asks, the progress while answers arrive, then one
 * section per institution with each item under its name and the data layout's Japanese labels. A
 * provider that failed or refused gets a line saying what it means for the resident. The results
 * block (`#my-information-results`) is the same markup whether the page is loaded or
 * `my-information.js` fetches it again as answers arrive (it swaps that block only).
 */
import type { LegalTable } from '../../../domain/legal-table/types.ts';
import { html, page, type Html } from '../../../shared/web/html.ts';
import type { Retrieval, RetrievalEntry } from '../service/my-information.ts';
import { japaneseDate, japaneseDateTime } from './dates.ts';

const SERVICE = { name: 'マイナポータル', nameEn: 'Myna Portal', href: '/' };
export const MY_INFORMATION_SCRIPT = 'my-information.js';

/** What a provider's outcome means for the resident, in plain words (Japanese, then English). */
function outcomeLine(entry: RetrievalEntry): Html {
  switch (entry.state) {
    case 'pending':
      return html`<p class="hint" data-state="pending">
        取得中です… <span lang="en">Waiting for the answer…</span>
      </p>`;
    case 'not_held':
      return html`<p class="hint" data-state="not_held">
        この機関は、あなたについてこれらの情報を保有していません。<span class="en" lang="en"
          >This institution holds none of this information about you.</span
        >
      </p>`;
    case 'refused':
      return html`<p class="notice notice--error" data-state="refused">
        マイナポータルには、この機関にこの情報を照会する権限がありませんでした。情報が無いという意味ではありません。<br /><span
          class="en"
          lang="en"
          >The portal may not ask this institution for this information. It does not mean there is none.</span
        >
      </p>`;
    case 'failed':
      return html`<p class="notice notice--error" data-state="failed">
        この機関から情報を取得できませんでした（機関のシステムが応答しなかったか、回答を確認できませんでした）。情報が無いという意味ではありません。しばらくしてから、もう一度「情報を取得する」を押してください。<br /><span
          class="en"
          lang="en"
          >The information could not be obtained from this institution (it did not answer, or its answer could
          not be verified). It does not mean there is none. Please try again later.</span
        >
      </p>`;
    case 'provided':
      return html``;
  }
}

function value(type: string | undefined, raw: unknown): string {
  if (raw === undefined || raw === null) return '—';
  if (type === 'boolean') return raw === true ? 'はい' : 'いいえ';
  if (type === 'date' && typeof raw === 'string') return japaneseDate(raw);
  return typeof raw === 'string' || typeof raw === 'number' ? String(raw) : JSON.stringify(raw);
}

function providedItems(entry: RetrievalEntry, legal: LegalTable, on: Date): Html {
  const items = entry.items ?? [];
  const held = new Set(items.map((i) => i.itemNo));
  const missing = entry.itemNos.filter((n) => !held.has(n));
  return html`${items.map((item) => {
    const info = legal.findItem(item.itemNo);
    const layout = legal.layoutFor(item.itemNo, on);
    const fields = layout?.fields ?? [];
    const known = new Set(fields.map((f) => f.name));
    return html`<div class="my-info__item" data-item-no="${item.itemNo}">
      <h3>
        ${info?.name ?? `特定個人情報 ${item.itemNo}`} <span class="en" lang="en">${info?.nameEn ?? ''}</span>
      </h3>
      <dl class="notice-meta">
        ${fields
          .filter((f) => item.data[f.name] !== undefined)
          .map(
            (f) =>
              html`<dt>${f.label}</dt>
                <dd>${value(f.type, item.data[f.name])}</dd>`,
          )}
        ${Object.keys(item.data)
          .filter((k) => !known.has(k))
          .map(
            (k) =>
              html`<dt>${k}</dt>
                <dd>${value(undefined, item.data[k])}</dd>`,
          )}
      </dl>
      <p class="hint">データ標準レイアウト ${item.layoutVersion} 版</p>
    </div>`;
  })}
  ${
    missing.length > 0
      ? html`<p class="hint" data-state="partly_held">
          次の情報は、この機関では保有していません:
          ${missing.map((n) => legal.findItem(n)?.name ?? String(n)).join('、')}
        </p>`
      : ''
  }`;
}

/** The results block: progress, then a section per institution. */
export function myInformationResults(args: { retrieval: Retrieval | undefined; legal: LegalTable }): Html {
  const { retrieval, legal } = args;
  if (!retrieval) {
    return html`<div id="my-information-results" data-settled="true">
      <p class="hint">まだ取得していません。<span lang="en">Nothing fetched yet.</span></p>
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
      <h2>${entry.providerName}</h2>
      ${entry.state === 'provided' ? providedItems(entry, legal, retrieval.startedAt) : outcomeLine(entry)}
      ${
        entry.state === 'pending' || entry.state === 'provided'
          ? ''
          : html`<p class="hint">
              照会した情報: ${entry.itemNos.map((n) => legal.findItem(n)?.name ?? String(n)).join('、')}
            </p>`
      }
      ${
        entry.processingNumber === undefined
          ? ''
          : html`<p class="hint">
              処理通番 <span lang="en">Processing number</span>: ${entry.processingNumber}
            </p>`
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
          ? html`${total}機関すべてから回答がありました（${japaneseDateTime(retrieval.startedAt)}に取得）。<span
                class="en"
                lang="en"
                >All ${total} institutions answered.</span
              >`
          : html`${total}機関のうち ${settled}機関から回答がありました。<span class="en" lang="en"
                >${settled} of ${total} institutions have answered.</span
              >`
      }
    </p>
    <progress max="${total}" value="${settled}">${settled} / ${total}</progress>
    ${provided.map(section)} ${trouble.map(section)} ${pending.map(section)}
    ${
      notHeld.length > 0
        ? html`<section class="my-info__none" data-state="not_held">
            <h2>
              情報を保有していない機関
              <span class="en" lang="en">Institutions holding nothing about you</span>
            </h2>
            <p>${notHeld.map((e) => e.providerName).join('、')}</p>
          </section>`
        : ''
    }
  </div>`;
}

export function myInformationPage(args: {
  csrfToken: string;
  retrieval: Retrieval | undefined;
  legal: LegalTable;
  keepMinutes: number;
}): string {
  return page({
    title: 'わたしの情報',
    titleEn: 'My information',
    service: SERVICE,
    scripts: [MY_INFORMATION_SCRIPT],
    headerAction: html`<form method="post" action="/logout">
      <input type="hidden" name="_csrf" value="${args.csrfToken}" />
      <button class="button button--secondary" type="submit">
        ログアウト <span lang="en">Log out</span>
      </button>
    </form>`,
    body: html`<p class="lead">
        行政機関などが持っているあなたの情報を、情報提供ネットワークシステムを通じて取得して表示します。
      </p>
      <p class="en" lang="en">
        The portal asks the institutions that hold your information, through the network, and shows it here.
      </p>
      <form method="post" action="/my-information">
        <input type="hidden" name="_csrf" value="${args.csrfToken}" />
        <button class="button" type="submit" data-testid="fetch-my-information">
          情報を取得する <span lang="en">Fetch my information</span>
        </button>
      </form>
      <p class="hint">
        取得した情報はこの画面に表示するためだけに使い、マイナポータルには保存しません。${args.keepMinutes}分たつか、ログアウトすると消去されます。照会の記録は「やりとり履歴」に残ります。<br /><span
          lang="en"
          >What is fetched is only shown here and never stored; it is erased after ${args.keepMinutes} minutes
          or when you log out. The inquiries appear in your exchange history.</span
        >
      </p>
      ${myInformationResults({ retrieval: args.retrieval, legal: args.legal })}
      <p>
        <a href="/exchanges">やりとり履歴を見る <span lang="en">Exchange history</span></a> ・
        <a href="/">ホームに戻る <span lang="en">Back to home</span></a>
      </p>`,
  });
}
