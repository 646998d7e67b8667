/**
 * Page A, やりとり履歴: the exchanges about the resident in plain words (Japanese or English), and what the browser needs
 * to check each row against the core's record log (`exchanges-check.ts`): the row's leaves and proofs
 * and the facts the row shows (ids, in data attributes, never on screen), the page's signed tree head
 * and the core's key. Attribute values, so that the escaping of `html` keeps them data (an inline
 * `<script type="application/json">` would need a second escaping, and we have no inline script).
 */
import type { LegalTable } from '../../../domain/legal-table/index.ts';
import type { RefusalRule } from '../../../domain/legal-table/types.ts';
import type { PersonRecord, PersonRecordPage } from '../../../protocol/person-records.ts';
import { html, page, type Html } from '../../../shared/web/html.ts';
import { pick, type Lang, type MessageTable } from '../../../shared/web/lang.ts';
import type { RecordLogJwk } from '../service/exchanges.ts';
import type { NoticeRow } from '../store.ts';
import { dateTimeIn } from './dates.ts';
import { chrome, fill, logoutButton, type View } from './pages.ts';

/** The browser's check, bundled from exchanges-check.ts when the portal starts. */
export const EXCHANGES_SCRIPT = 'exchanges.js';

/** Why the legal table refused, as a resident reads it. */
export const RULE_WORDS = {
  unknown_clause: {
    ja: '照会の根拠とされた条項が法令にありませんでした。',
    en: 'The clause the inquiry named is not in the law.',
  },
  clause_not_in_force: {
    ja: '照会の根拠とされた条項が、その日には効力がありませんでした。',
    en: 'The clause the inquiry named was not in force that day.',
  },
  unknown_procedure: {
    ja: '照会の手続が法令に定められたものではありませんでした。',
    en: 'The procedure of the inquiry is not one the law defines.',
  },
  procedure_not_under_clause: {
    ja: '照会の手続が、根拠とされた条項の事務に当たりませんでした。',
    en: 'The procedure is not part of the business of the clause named.',
  },
  procedure_not_in_force: {
    ja: '照会の手続が、その日には効力がありませんでした。',
    en: 'The procedure was not in force that day.',
  },
  requester_not_allowed: {
    ja: '照会した機関には、この条項で照会する権限がありませんでした。',
    en: 'The institution that asked may not ask under this clause.',
  },
  provider_not_allowed: {
    ja: '照会先の機関は、この条項で情報を提供する機関ではありませんでした。',
    en: 'The institution asked does not provide information under this clause.',
  },
  no_items: { ja: '照会する情報が指定されていませんでした。', en: 'The inquiry named no information.' },
  unknown_item: {
    ja: '照会された情報が法令に定められたものではありませんでした。',
    en: 'The information asked for is not one the law defines.',
  },
  item_not_allowed: {
    ja: '照会された情報は、この条項では提供できないものでした。',
    en: 'The information asked for may not be provided under this clause.',
  },
  item_not_in_procedure: {
    ja: '照会された情報は、この手続に必要なものではありませんでした。',
    en: 'The information asked for is not needed for this procedure.',
  },
} satisfies Record<RefusalRule, { ja: string; en: string }>;

export const EXCHANGES_TEXT = {
  title: { ja: 'やりとり履歴', en: 'Exchanges about me' },
  provided: { ja: '提供済み', en: 'Provided' },
  providedDetail: {
    ja: '照会先の機関から、照会した機関へ情報が提供されました。',
    en: 'The institution asked provided the information to the one that asked.',
  },
  notHeld: { ja: '保有なし', en: 'Not held' },
  notHeldDetail: {
    ja: '照会先の機関は、この情報を保有していませんでした。提供された情報はありません。',
    en: 'The institution asked does not hold this information. Nothing was provided.',
  },
  refused: { ja: '不許可', en: 'Refused' },
  refusedDefault: {
    ja: '法令で認められた照会ではありませんでした。',
    en: 'The law does not allow this inquiry.',
  },
  nothingProvided: { ja: '情報は提供されていません。', en: 'No information was provided.' },
  failed: { ja: '失敗', en: 'Failed' },
  failedDetail: {
    ja: '通信などの問題で、情報の提供が完了しませんでした。情報は提供されていません。',
    en: 'The exchange did not complete (a network problem or similar). No information was provided.',
  },
  pending: { ja: '処理中', en: 'In progress' },
  pendingDetail: {
    ja: '照会先の機関の回答を待っています。',
    en: 'Waiting for the institution asked to answer.',
  },
  itemFallback: { ja: '情報（番号{n}）', en: 'Information (no. {n})' },
  summary: {
    ja: '{requester}が{provider}に、あなたの情報を照会しました。',
    en: '{requester} asked {provider} for your information.',
  },
  items: { ja: '照会した情報', en: 'Information asked for' },
  procedure: { ja: '手続', en: 'Procedure' },
  noProcedure: { ja: '（法令に定めのない手続）', en: '(a procedure the law does not define)' },
  clause: { ja: '根拠', en: 'Legal basis' },
  clauseNo: { ja: '第{n}項', en: 'Appended Table 2, clause {n}' },
  clauseLaw: { ja: '（{law}による事務）', en: ' ({business}, under the {law})' },
  outcome: { ja: '結果', en: 'Outcome' },
  processingNumber: { ja: '処理番号', en: 'Processing number' },
  processingHint: {
    ja: '照会した機関に問い合わせるときにお伝えください。',
    en: 'Give it when you contact the institution that asked.',
  },
  checking: { ja: '記録簿での確認中…', en: 'Checking against the log…' },
  aboutSummary: {
    ja: '「✓ 改ざんされていないことを確認しました」とは',
    en: 'What “✓ Checked: not altered” means',
  },
  about1: {
    ja: '行政機関の間であなたの情報がやりとりされると、情報提供ネットワークシステムは、そのことを書き足すことしかできない記録簿に記録します。記録簿の全体には、そのたびに情報提供ネットワークシステムが電子署名をします。',
    en: 'Whenever institutions exchange your information, the Information Provision Network writes it into a log that can only be added to. Each time, the network signs the whole log electronically.',
  },
  about2: {
    ja: 'このページを開くと、あなたのブラウザが、一件ごとに「この記録がその記録簿に確かに含まれていること」と「電子署名が本物であること」を計算して確かめます。確かめられた記録に ✓ が付きます。あとから記録を書き換えたり消したりすれば、この計算が合わなくなり、✗ が表示されます。',
    en: 'When you open this page, your browser works out, for each row, that the row is in that log and that the signature is genuine. A row so checked gets ✓. Had a row been changed or removed afterwards, the calculation would fail and show ✗.',
  },
  about3: {
    ja: '✗ が表示されたときは、表示された内容をそのまま信頼せず、ページを開き直してください。それでも続くときは、マイナポータルのお問い合わせ窓口にご連絡ください。',
    en: 'If you see ✗, do not trust what is shown: reload the page. If it stays, contact the Myna Portal’s help desk.',
  },
  noEarlier: { ja: 'これより前のやりとりはありません。', en: 'There are no earlier exchanges.' },
  none: {
    ja: 'あなたの情報のやりとりの記録はまだありません。行政機関があなたの情報を照会すると、ここに表示されます。',
    en: 'No exchanges about you yet. When an institution asks for your information, it appears here.',
  },
  lead: {
    ja: '行政機関の間で、あなたの情報がいつ、どの機関からどの機関へ、何のためにやりとりされたかの記録です。新しい順に表示します。',
    en: 'When, between which institutions and for what your information was exchanged; newest first.',
  },
  pages: { ja: 'ページ', en: 'Pages' },
  newest: { ja: '最新のやりとりへ', en: 'Newest exchanges' },
  older: { ja: 'さらに前のやりとり', en: 'Older exchanges' },
  backHome: { ja: 'ホームに戻る', en: 'Back to home' },
  unavailable: {
    ja: 'いま、やりとりの記録を取得できません。情報提供ネットワークシステムにつながりませんでした。しばらく時間をおいてから、もう一度お試しください。続くときは、マイナポータルのお問い合わせ窓口にご連絡ください。',
    en: 'The exchange records cannot be read now: the network could not be reached. Please try again later; if it goes on, contact the Myna Portal’s help desk.',
  },
  tryAgain: { ja: 'もう一度読み込む', en: 'Try again' },
  noticesTitle: { ja: '受け取ったお知らせ', en: 'Notices received' },
  noticesLead: {
    ja: '機関からマイナポータルに届いたお知らせです。受け取った記録は、マイナポータルの記録簿（改ざんを検知できる記録）に残しています。',
    en: 'Notices institutions sent you through the Myna Portal. Each one received is kept in the portal’s tamper-evident log.',
  },
  noticeBadge: { ja: 'お知らせ', en: 'Notice' },
  noticeSummary: { ja: '{sender}からお知らせが届きました。', en: '{sender} sent you a notice.' },
  noticeTitle: { ja: '件名', en: 'Title' },
  noticeLog: { ja: '記録簿', en: 'Log entry' },
  noticeEntry: {
    ja: 'マイナポータルの記録簿の第{n}項目（署名済みの記録簿に含まれています）',
    en: 'Entry {n} of the Myna Portal’s log, covered by its signed tree head',
  },
  noticeEntryPending: {
    ja: 'マイナポータルの記録簿の第{n}項目（次の署名を待っています）',
    en: 'Entry {n} of the Myna Portal’s log, awaiting its next signed tree head',
  },
  noticeEntryNone: {
    ja: '記録簿ができる前に受け取ったお知らせです',
    en: 'Received before the portal kept a log',
  },
  noNotices: { ja: '受け取ったお知らせはありません。', en: 'You have received no notices.' },
} satisfies MessageTable;

/** A notice received, as a row of the history: when, from whom, its title, its log entry. */
function noticeRow(notice: NoticeRow, signedSize: number, lang: Lang): Html {
  const t = pick(EXCHANGES_TEXT, lang);
  const [before, after] = t.noticeSummary.split('{sender}');
  const entry =
    notice.logIndex === undefined
      ? t.noticeEntryNone
      : fill(notice.logIndex < signedSize ? t.noticeEntry : t.noticeEntryPending, { n: notice.logIndex + 1 });
  return html`<li class="exchange exchange--notice" data-testid="notice-received">
    <p class="exchange__when">
      <span class="outcome outcome--neutral">${t.noticeBadge}</span> ${dateTimeIn(lang, notice.sentAt)}
    </p>
    <p class="exchange__summary">
      ${before}<strong data-testid="notice-sender">${notice.senderName}</strong>${after}
    </p>
    <dl class="exchange__details">
      <dt>${t.noticeTitle}</dt>
      <dd><a href="/notices/${notice.noticeId}" data-testid="notice-title">${notice.title}</a></dd>
      <dt>${t.noticeLog}</dt>
      <dd data-testid="notice-log-entry">${entry}</dd>
    </dl>
  </li>`;
}

function noticesSection(lang: Lang, notices: { rows: readonly NoticeRow[]; signedSize: number }): Html {
  const t = pick(EXCHANGES_TEXT, lang);
  return html`<section aria-labelledby="notices-received" data-testid="notices-received">
    <h2 id="notices-received">${t.noticesTitle}</h2>
    <p>${t.noticesLead}</p>
    ${
      notices.rows.length === 0
        ? html`<p class="notice">${t.noNotices}</p>`
        : html`<ol class="exchanges">
            ${notices.rows.map((n) => noticeRow(n, notices.signedSize, lang))}
          </ol>`
    }
  </section>`;
}

function outcomeOf(
  record: PersonRecord,
  lang: Lang,
): { label: string; detail: string | undefined; tone: string } {
  const t = pick(EXCHANGES_TEXT, lang);
  switch (record.outcome) {
    case 'provided':
      return { label: t.provided, detail: t.providedDetail, tone: 'ok' };
    case 'not_held':
      return { label: t.notHeld, detail: t.notHeldDetail, tone: 'neutral' };
    case 'refused': {
      const words = RULE_WORDS[record.reason as RefusalRule] as { ja: string; en: string } | undefined;
      return {
        label: t.refused,
        detail: `${words?.[lang] ?? t.refusedDefault}${lang === 'en' ? ' ' : ''}${t.nothingProvided}`,
        tone: 'refused',
      };
    }
    case 'failed':
      return { label: t.failed, detail: t.failedDetail, tone: 'refused' };
    case 'pending':
      return { label: t.pending, detail: t.pendingDetail, tone: 'neutral' };
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

function row(record: PersonRecord, legal: LegalTable, lang: Lang): Html {
  const t = pick(EXCHANGES_TEXT, lang);
  const en = lang === 'en';
  const procedure = legal.findProcedure(record.procedureId);
  const clause = legal.findClause(record.clauseNo);
  const items = record.itemNos.map((n) => {
    const item = legal.findItem(n);
    return (en ? item?.nameEn : item?.name) ?? fill(t.itemFallback, { n });
  });
  const outcome = outcomeOf(record, lang);
  const [before, middle, after] = t.summary.split(/\{requester\}|\{provider\}/);
  return html`<li
    class="exchange"
    data-testid="exchange"
    data-facts="${JSON.stringify(factsOf(record))}"
    data-evidence="${JSON.stringify(record.evidence)}"
  >
    <p class="exchange__when">${dateTimeIn(lang, new Date(record.requestedAt))}</p>
    <p class="exchange__summary">
      ${before}<strong data-testid="requester">${en ? record.requesterNameEn : record.requesterName}</strong
      >${middle}<strong data-testid="provider">${en ? record.providerNameEn : record.providerName}</strong
      >${after}
    </p>
    <dl class="exchange__details">
      <dt>${t.items}</dt>
      <dd data-testid="items">${items.join(en ? ', ' : '、')}</dd>
      <dt>${t.procedure}</dt>
      <dd data-testid="procedure">${(en ? procedure?.nameEn : procedure?.name) ?? t.noProcedure}</dd>
      <dt>${t.clause}</dt>
      <dd data-testid="clause">
        ${fill(t.clauseNo, { n: record.clauseNo })}${clause ? fill(t.clauseLaw, en ? { business: clause.businessEn, law: clause.lawEn } : { law: clause.law }) : ''}
      </dd>
      <dt>${t.outcome}</dt>
      <dd>
        <span class="outcome outcome--${outcome.tone}" data-testid="outcome">${outcome.label}</span>
        ${outcome.detail === undefined ? '' : html`<span class="hint">${outcome.detail}</span>`}
      </dd>
      <dt>${t.processingNumber}</dt>
      <dd>
        <code>${record.processingNumber}</code>
        <span class="hint">${t.processingHint}</span>
      </dd>
    </dl>
    <p class="exchange__proof" data-testid="proof" data-state="pending" aria-live="polite">${t.checking}</p>
  </li>`;
}

function explanation(lang: Lang): Html {
  const t = pick(EXCHANGES_TEXT, lang);
  return html`<details class="exchanges__about" data-testid="proof-explanation">
    <summary>${t.aboutSummary}</summary>
    <p>${t.about1}</p>
    <p>${t.about2}</p>
    <p>${t.about3}</p>
  </details>`;
}

export function exchangesPage(
  view: View,
  args: {
    csrfToken: string;
    page: PersonRecordPage;
    legal: LegalTable;
    key: RecordLogJwk;
    /** Whether this is a later page (a link back to the first is shown). */
    later: boolean;
    /** The notices received (first page only), and the size of the portal's latest signed head. */
    notices?: { rows: readonly NoticeRow[]; signedSize: number };
  },
): string {
  const t = pick(EXCHANGES_TEXT, view.lang);
  const { records, treeHead, nextCursor } = args.page;
  const list =
    records.length === 0
      ? html`<p class="notice" data-testid="exchanges-empty">${args.later ? t.noEarlier : t.none}</p>`
      : html`<ol
          class="exchanges"
          id="exchanges"
          data-tree-head="${treeHead?.jws ?? ''}"
          data-key="${JSON.stringify(args.key)}"
        >
          ${records.map((r) => row(r, args.legal, view.lang))}
        </ol>`;
  return page({
    ...chrome(view),
    title: t.title,
    headerAction: logoutButton(view.lang, args.csrfToken),
    scripts: [EXCHANGES_SCRIPT],
    body: html`<p class="lead">${t.lead}</p>
      ${explanation(view.lang)} ${list}
      ${args.later || args.notices === undefined ? '' : noticesSection(view.lang, args.notices)}
      <nav class="pager" aria-label="${t.pages}">
        ${args.later ? html`<a href="/exchanges">${t.newest}</a>` : ''}
        ${
          nextCursor === null
            ? ''
            : html`<a
                href="/exchanges?${new URLSearchParams({ after: nextCursor }).toString()}"
                data-testid="next-page"
                >${t.older}</a
              >`
        }
      </nav>
      <p>
        <a href="/">${t.backHome}</a>
      </p>`,
  });
}

/** The core could not be reached (or its key not had): said so, and what to do. No detail. */
export function exchangesUnavailablePage(view: View, args: { csrfToken: string }): string {
  const t = pick(EXCHANGES_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.title,
    headerAction: logoutButton(view.lang, args.csrfToken),
    body: html`<p class="notice notice--error" role="alert" data-testid="exchanges-unavailable">
        ${t.unavailable}
      </p>
      <p>
        <a class="button" href="/exchanges">${t.tryAgain}</a>
        <a href="/">${t.backHome}</a>
      </p>`,
  });
}
