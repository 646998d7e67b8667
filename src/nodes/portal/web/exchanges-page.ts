/**
 * Page A, やりとり履歴: the exchanges about the resident in plain Japanese, and what the browser needs
 * to check each row against the core's record log (`exchanges-check.ts`): the row's leaves and proofs
 * and the facts the row shows (ids, in data attributes, never on screen), the page's signed tree head
 * and the core's key. Attribute values, so that the escaping of `html` keeps them data (an inline
 * `<script type="application/json">` would need a second escaping, and we have no inline script).
 */
import type { LegalTable } from '../../../domain/legal-table/index.ts';
import type { RefusalRule } from '../../../domain/legal-table/types.ts';
import type { PersonRecord, PersonRecordPage } from '../../../protocol/person-records.ts';
import { html, page, type Html } from '../../../shared/web/html.ts';
import type { RecordLogJwk } from '../service/exchanges.ts';

const SERVICE = { name: 'マイナポータル', nameEn: 'Myna Portal', href: '/' };
/** The browser's check, bundled from exchanges-check.ts when the portal starts. */
export const EXCHANGES_SCRIPT = 'exchanges.js';

const JST = 'Asia/Tokyo';
const wareki = new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {
  era: 'long',
  year: 'numeric',
  month: 'long',
  day: 'numeric',
  timeZone: JST,
});
const seireki = new Intl.DateTimeFormat('ja-JP', { year: 'numeric', timeZone: JST });
const clock = new Intl.DateTimeFormat('ja-JP', { hour: '2-digit', minute: '2-digit', timeZone: JST });

/** 令和8年11月27日（2026年） 20時31分: 和暦 first, the Western year beside, Japan time. */
export function japaneseDateTime(iso: string): string {
  const at = new Date(iso);
  const [hours, minutes] = clock.format(at).split(':');
  return `${wareki.format(at)}（${seireki.format(at)}） ${Number(hours)}時${minutes ?? '00'}分`;
}

/** Why the legal table refused, as a resident reads it. */
const RULE_WORDS: Record<RefusalRule, string> = {
  unknown_clause: '照会の根拠とされた条項が法令にありませんでした。',
  clause_not_in_force: '照会の根拠とされた条項が、その日には効力がありませんでした。',
  unknown_procedure: '照会の手続が法令に定められたものではありませんでした。',
  procedure_not_under_clause: '照会の手続が、根拠とされた条項の事務に当たりませんでした。',
  procedure_not_in_force: '照会の手続が、その日には効力がありませんでした。',
  requester_not_allowed: '照会した機関には、この条項で照会する権限がありませんでした。',
  provider_not_allowed: '照会先の機関は、この条項で情報を提供する機関ではありませんでした。',
  no_items: '照会する情報が指定されていませんでした。',
  unknown_item: '照会された情報が法令に定められたものではありませんでした。',
  item_not_allowed: '照会された情報は、この条項では提供できないものでした。',
  item_not_in_procedure: '照会された情報は、この手続に必要なものではありませんでした。',
};

function outcomeOf(record: PersonRecord): { label: string; detail: string | undefined; tone: string } {
  switch (record.outcome) {
    case 'provided':
      return {
        label: '提供済み',
        detail: '照会先の機関から、照会した機関へ情報が提供されました。',
        tone: 'ok',
      };
    case 'not_held':
      return {
        label: '保有なし',
        detail: '照会先の機関は、この情報を保有していませんでした。提供された情報はありません。',
        tone: 'neutral',
      };
    case 'refused': {
      const words = RULE_WORDS[record.reason as RefusalRule] as string | undefined;
      return {
        label: '不許可',
        detail: `${words ?? '法令で認められた照会ではありませんでした。'}情報は提供されていません。`,
        tone: 'refused',
      };
    }
    case 'failed':
      return {
        label: '失敗',
        detail: '通信などの問題で、情報の提供が完了しませんでした。情報は提供されていません。',
        tone: 'refused',
      };
    case 'pending':
      return { label: '処理中', detail: '照会先の機関の回答を待っています。', tone: 'neutral' };
  }
}

/** What the browser compares with the leaves: the row as shown, by the ids the log holds. */
function factsOf(record: PersonRecord) {
  return {
    processingNumber: record.processingNumber,
    requestedAt: record.requestedAt,
    requesterId: record.requesterId,
    providerId: record.providerId,
    clauseNo: record.clauseNo,
    procedureId: record.procedureId,
    itemNos: record.itemNos,
    outcome: record.outcome,
  };
}

function row(record: PersonRecord, legal: LegalTable): Html {
  const procedure = legal.findProcedure(record.procedureId);
  const clause = legal.findClause(record.clauseNo);
  const items = record.itemNos.map((n) => legal.findItem(n)?.name ?? `情報（番号${n}）`);
  const outcome = outcomeOf(record);
  return html`<li
    class="exchange"
    data-testid="exchange"
    data-facts="${JSON.stringify(factsOf(record))}"
    data-evidence="${JSON.stringify(record.evidence)}"
  >
    <p class="exchange__when">${japaneseDateTime(record.requestedAt)}</p>
    <p class="exchange__summary">
      <strong data-testid="requester">${record.requesterName}</strong>が<strong data-testid="provider"
        >${record.providerName}</strong
      >に、あなたの情報を照会しました。
    </p>
    <dl class="exchange__details">
      <dt>照会した情報</dt>
      <dd data-testid="items">${items.join('、')}</dd>
      <dt>手続</dt>
      <dd data-testid="procedure">${procedure?.name ?? '（法令に定めのない手続）'}</dd>
      <dt>根拠</dt>
      <dd data-testid="clause">第${record.clauseNo}項${clause ? `（${clause.law}による事務）` : ''}</dd>
      <dt>結果</dt>
      <dd>
        <span class="outcome outcome--${outcome.tone}" data-testid="outcome">${outcome.label}</span>
        ${outcome.detail === undefined ? '' : html`<span class="hint">${outcome.detail}</span>`}
      </dd>
      <dt>処理番号</dt>
      <dd>
        <code>${record.processingNumber}</code>
        <span class="hint">照会した機関に問い合わせるときにお伝えください。</span>
      </dd>
    </dl>
    <p class="exchange__proof" data-testid="proof" data-state="pending" aria-live="polite">
      記録簿での確認中… <span class="en" lang="en">Checking…</span>
    </p>
  </li>`;
}

function logoutButton(csrfToken: string): Html {
  return html`<form method="post" action="/logout">
    <input type="hidden" name="_csrf" value="${csrfToken}" />
    <button class="button button--secondary" type="submit">ログアウト <span lang="en">Log out</span></button>
  </form>`;
}

const EXPLANATION = html`<details class="exchanges__about" data-testid="proof-explanation">
  <summary>「✓ 改ざんされていないことを確認しました」とは <span lang="en">What ✓ means</span></summary>
  <p>
    行政機関の間であなたの情報がやりとりされると、情報提供ネットワークシステムは、そのことを書き足すことしかできない記録簿に記録します。記録簿の全体には、そのたびに情報提供ネットワークシステムが電子署名をします。
  </p>
  <p>
    このページを開くと、あなたのブラウザが、一件ごとに「この記録がその記録簿に確かに含まれていること」と「電子署名が本物であること」を計算して確かめます。確かめられた記録に
    ✓ が付きます。あとから記録を書き換えたり消したりすれば、この計算が合わなくなり、✗ が表示されます。
  </p>
  <p>
    ✗
    が表示されたときは、表示された内容をそのまま信頼せず、ページを開き直してください。それでも続くときは、マイナポータルのお問い合わせ窓口にご連絡ください。
  </p>
  <p class="en" lang="en">
    Every exchange is written to an append-only log that the network signs. Your browser checks that each row
    is in that signed log; a row changed or removed afterwards would fail the check and show ✗.
  </p>
</details>`;

export function exchangesPage(args: {
  csrfToken: string;
  page: PersonRecordPage;
  legal: LegalTable;
  key: RecordLogJwk;
  /** Whether this is a later page (a link back to the first is shown). */
  later: boolean;
}): string {
  const { records, treeHead, nextCursor } = args.page;
  const list =
    records.length === 0
      ? html`<p class="notice" data-testid="exchanges-empty">
          ${
            args.later
              ? 'これより前のやりとりはありません。'
              : 'あなたの情報のやりとりの記録はまだありません。行政機関があなたの情報を照会すると、ここに表示されます。'
          }<br /><span class="en" lang="en">No exchanges about you yet.</span>
        </p>`
      : html`<ol
          class="exchanges"
          id="exchanges"
          data-tree-head="${treeHead?.jws ?? ''}"
          data-key="${JSON.stringify(args.key)}"
        >
          ${records.map((r) => row(r, args.legal))}
        </ol>`;
  return page({
    title: 'やりとり履歴',
    titleEn: 'Exchanges about me',
    service: SERVICE,
    headerAction: logoutButton(args.csrfToken),
    scripts: [EXCHANGES_SCRIPT],
    body: html`<p class="lead">
        行政機関の間で、あなたの情報がいつ、どの機関からどの機関へ、何のためにやりとりされたかの記録です。新しい順に表示します。
      </p>
      <p class="en" lang="en">
        When, between which institutions and for what your information was exchanged; newest first.
      </p>
      ${EXPLANATION} ${list}
      <nav class="pager" aria-label="ページ">
        ${args.later ? html`<a href="/exchanges">最新のやりとりへ <span lang="en">Newest</span></a>` : ''}
        ${
          nextCursor === null
            ? ''
            : html`<a
                href="/exchanges?${new URLSearchParams({ after: nextCursor }).toString()}"
                data-testid="next-page"
                >さらに前のやりとり <span lang="en">Older</span></a
              >`
        }
      </nav>
      <p>
        <a href="/">ホームに戻る <span lang="en">Back to home</span></a>
      </p>`,
  });
}

/** The core could not be reached (or its key not had): said so, and what to do. No detail. */
export function exchangesUnavailablePage(args: { csrfToken: string }): string {
  return page({
    title: 'やりとり履歴',
    titleEn: 'Exchanges about me',
    service: SERVICE,
    headerAction: logoutButton(args.csrfToken),
    body: html`<p class="notice notice--error" role="alert" data-testid="exchanges-unavailable">
        いま、やりとりの記録を取得できません。情報提供ネットワークシステムにつながりませんでした。<br />
        しばらく時間をおいてから、もう一度お試しください。続くときは、マイナポータルのお問い合わせ窓口にご連絡ください。<br /><span
          class="en"
          lang="en"
          >The exchange records cannot be read now: the network could not be reached. Please try again
          later.</span
        >
      </p>
      <p>
        <a class="button" href="/exchanges">もう一度読み込む <span lang="en">Try again</span></a>
        <a href="/">ホームに戻る <span lang="en">Back to home</span></a>
      </p>`,
  });
}
