/**
 * The oversight console's pages beyond the records search (oversight-console.ts serves them): a
 * resident's exchanges, the anomalies, the three-party cross-check and the console's own use log,
 * rendered from what service/oversight.ts answers. Never a code, a person key or an Individual
 * Number: the records have no field for the key, and the per-resident form is never filled back
 * with the code it was given.
 */
import { html, type Html } from '../../../shared/web/html.ts';
import { dateIn, dateTimeIn } from '../../../shared/web/dates.ts';
import { fill, pick, type Lang } from '../../../shared/web/lang.ts';
import type { HeadFinding, OversightUse } from '../model.ts';
import type { Anomaly, AnomalyKind, AnomalyRules } from '../service/anomalies.ts';
import type { OversightRecord, PersonView } from '../service/oversight.ts';
import { PERSON_VIEW_TTL_MS } from '../service/oversight.ts';
import type { ExchangeFinding } from '../service/exchange-comparison.ts';
import type { PartyCheck, RecordCheckResult } from '../service/record-checks.ts';
import { aside, periodFields, textField } from './operator-console.ts';

/** The oversight console's words, each language's (shared/web/lang.ts); oversight-console.ts uses them too. */
export const OVERSIGHT_MESSAGES = {
  provided: { ja: '提供', en: 'Provided' },
  not_held: { ja: '不保持', en: 'Not held' },
  refused: { ja: '拒否', en: 'Refused' },
  failed: { ja: '失敗', en: 'Failed' },
  pending: { ja: '処理中', en: 'Pending' },
  clauseProcedure: { ja: '{clause}項', en: 'clause {clause}' },
  nonDisclosure: { ja: '不開示', en: 'Non-disclosure' },
  verifyRecord: { ja: '記録を検証', en: 'Verify the record' },
  requestedAt: { ja: '照会日時', en: 'Requested at' },
  requester: { ja: '照会機関', en: 'Requester' },
  provider: { ja: '提供機関', en: 'Provider' },
  clauseAndProcedure: { ja: '項・事務手続', en: 'Clause and procedure' },
  items: { ja: '特定個人情報', en: 'Items' },
  outcome: { ja: '結果', en: 'Outcome' },
  processingNumber: { ja: '処理番号', en: 'Processing number' },
  personLead: {
    ja: '苦情等で本人の記録を確かめるときに使います。本人の属する機関に、その機関の符号（機関別符号）を照会してください。個人番号では検索できません。利用は、機関と理由とともに利用記録に残ります。',
    en: 'For checking a resident’s records, after a complaint for instance. Ask the resident’s institution for its code for the person (the institution’s code); an Individual Number cannot be searched. Each use is kept in the use log with the institution and the reason.',
  },
  institutionCode: { ja: '機関コード', en: 'Institution' },
  personCode: { ja: 'その機関の符号', en: 'The institution’s code' },
  reason: { ja: '利用の理由', en: 'Reason' },
  show: { ja: '表示', en: 'Show' },
  aboutResident: { ja: 'この者に関するやりとり', en: 'Exchanges about this resident' },
  personCount: {
    ja: '{n}件（不開示の設定 {withheld}件：本人のマイナポータルには表示されません）。',
    en: '{n} exchanges ({withheld} set to non-disclosure: not shown on the resident’s portal).',
  },
  personPage: { ja: '{page}ページ目（新しい順）', en: 'Page {page} (newest first)' },
  personOlder: { ja: 'さらに古い記録', en: 'Older records' },
  personPages: { ja: 'この者の記録のページ', en: 'Pages of this resident’s records' },
  personPagesNote: {
    ja: '続きのページは、この表示を求めた利用者だけが{minutes}分間開けます。開くたびに利用記録に残ります。',
    en: 'Further pages open only for the account that asked for this view, for {minutes} minutes; each is kept in the use log.',
  },
  personPageAction: { ja: '個人別の記録（続きのページ）', en: 'A resident’s exchanges (further page)' },
  noPersonRecords: { ja: 'この者に関する記録はありません。', en: 'No records about this resident.' },
  spike: { ja: '照会件数の急増', en: 'Spike in requests' },
  'off-hours': { ja: '時間外の照会', en: 'Requests out of hours' },
  'repeated-refusals': { ja: '拒否の繰り返し', en: 'Repeated refusals' },
  hourBucket: { ja: '{day} {h}時台', en: '{day}, {h}:00–{h}:59' },
  oneDay: { ja: '1日', en: 'a day' },
  oneHour: { ja: '1時間', en: 'an hour' },
  anomaliesLead: {
    ja: '{from}〜{to}（日本時間）に規則に当たった照会機関',
    en: 'Requesters caught by a rule from {from} to {to} (JST):',
  },
  anomaliesCount: { ja: '件。', en: '.' },
  rules: { ja: '検知の規則', en: 'Rules' },
  spikeRule: {
    ja: '照会件数の急増：{unit}の照会が{min}件以上で、直前{days}日の中央値の{factor}倍を超える',
    en: 'Spike in requests: {min} or more requests in {unit}, over {factor} times the median of the {days} days before',
  },
  offHoursRule: {
    ja: '時間外の照会：{start}時より前か{end}時以降{extra}の照会が1日{min}件以上',
    en: 'Requests out of hours: {min} or more a day before {start}:00 or from {end}:00{extra}',
  },
  weekends: { ja: '、土日', en: ', weekends' },
  nationalHolidays: { ja: '、国民の祝日', en: ', national holidays' },
  holidays: { ja: '、指定の休日（{n}日）', en: ', listed days off ({n})' },
  refusalsRule: {
    ja: '拒否の繰り返し：{unit}に同じ照会機関の拒否が{n}件以上',
    en: 'Repeated refusals: {n} or more refusals of one requester in {unit}',
  },
  kindOfAnomaly: { ja: '種類', en: 'Kind' },
  whenJst: { ja: '日時（日本時間）', en: 'When (JST)' },
  count: { ja: '件数', en: 'Count' },
  baseline: { ja: '通常（中央値）', en: 'Usual (median)' },
  records: { ja: '記録', en: 'Records' },
  seeRecords: { ja: '記録を見る', en: 'See the records' },
  notRegistered: { ja: '（登録簿にない機関）', en: '(not in the registry)' },
  noAnomalies: {
    ja: 'この期間に規則に当たったものはありません。',
    en: 'Nothing was caught by a rule in this period.',
  },
  answered: { ja: '回答あり', en: 'Answered' },
  unreachable: { ja: '回答なし', en: 'No answer' },
  'not-asked': { ja: '照会対象外', en: 'Not asked' },
  headVerified: {
    ja: '署名を確認しました（機関の証明書）',
    en: 'Signature verified (the institution’s certificate)',
  },
  headInvalid: {
    ja: '署名を確認できません（改ざんの疑い）',
    en: 'Signature does not verify (possible tampering)',
  },
  headVerifiedEarlier: {
    ja: '署名を確認しました（以前の証明書、署名の時点で有効）',
    en: 'Signature verified (an earlier certificate, valid when it signed)',
  },
  headRefused: {
    ja: '署名の時点で有効な証明書がありません',
    en: 'No certificate valid when it signed',
  },
  headOtherKey: {
    ja: '以前の証明書の写しがないため署名は確認していません',
    en: 'Signed with an earlier certificate of which no copy was kept: not checked',
  },
  historyFirst: { ja: '初めて受け取ったツリーヘッド（保存しました）', en: 'First head seen (kept)' },
  historySame: { ja: '前回と同じツリーヘッド', en: 'The same head as before' },
  historyConsistent: {
    ja: '前回のツリーヘッド（大きさ {n}）と整合しています',
    en: 'Consistent with the head kept before (size {n})',
  },
  historyBroken: {
    ja: '前回のツリーヘッド（大きさ {n}）と整合しません',
    en: 'Not consistent with the head kept before (size {n})',
  },
  inquiryNoun: { ja: '照会', en: 'inquiry' },
  provisionNoun: { ja: '提供', en: 'provision' },
  fieldRequester: { ja: '照会機関', en: 'requester' },
  fieldProvider: { ja: '提供機関', en: 'provider' },
  fieldClause: { ja: '項', en: 'clause' },
  fieldProcedure: { ja: '事務手続', en: 'procedure' },
  fieldItems: { ja: '特定個人情報', en: 'items' },
  fieldSeparator: { ja: '・', en: ', ' },
  delivered: { ja: '（配信済み）', en: ', delivered' },
  answeredTimes: { ja: '（{n}回回答）', en: ' (answered {n} times)' },
  'exchange-missing-requester': {
    ja: 'コアシステムは{party}からの照会 {pn} を記録していますが、{party}にその記録がありません。',
    en: 'The core recorded inquiry {pn} from {party}, but {party} has no record of it.',
  },
  'exchange-missing-provider': {
    ja: 'コアシステムは {pn} を{party}による「{outcome}」と記録していますが、{party}にその記録がありません。',
    en: 'The core recorded {pn} as “{outcome}” by {party}, but {party} has no record of it.',
  },
  'exchange-unknown-at-core-requester': {
    ja: '{party}は照会 {pn} を記録していますが、コアシステムには{party}からのこの照会の記録がありません。',
    en: '{party} recorded inquiry {pn}, which the core has no record of from {party}.',
  },
  'exchange-unknown-at-core-provider': {
    ja: '{party}は {pn} の提供を記録していますが、コアシステムはこの照会を{party}に転送した記録がありません。',
    en: '{party} recorded a provision for {pn}, which the core has no record of sending to {party}.',
  },
  'exchange-disagrees': {
    ja: '{party}の{role} {pn} の記録は、{fields}がコアシステムの記録と異なります。',
    en: '{party}’s record of {role} {pn} differs from the core’s in its {fields}.',
  },
  'exchange-outcome-disagrees': {
    ja: '{party}は{role} {pn} を「{theirs}」{answers}と記録していますが、コアシステムの記録は「{ours}」{delivered}です。',
    en: '{party} recorded {role} {pn} as “{theirs}”{answers}; the core recorded “{ours}”{delivered}.',
  },
  'exchange-provided-though-refused': {
    ja: '{party}は {pn} の提供を記録していますが、コアシステムはこの照会を拒否し、転送していません。',
    en: '{party} recorded a provision for {pn}, which the core refused and never forwarded.',
  },
  'head-signature-invalid': {
    ja: '{party}の大きさ {size} のツリーヘッドは、機関の証明書で署名を確認できません（改ざんの疑い）。',
    en: '{party}’s tree head of size {size} does not verify with its identity certificate (possible tampering).',
  },
  'certificate-untrusted': {
    ja: '{party}の証明書は、ネットワークの認証局が{party}に発行したものではありません。ツリーヘッドは確認していません。',
    en: '{party}’s certificate is not one the network’s CA issued to it: its tree head was not checked.',
  },
  'head-key-unknown': {
    ja: '{party}のツリーヘッドの鍵IDは、認証局が{party}に発行したどの証明書にも当たりません。',
    en: '{party}’s tree head names a key of none of the certificates the CA issued to it.',
  },
  'head-outside-validity': {
    ja: '{party}のツリーヘッドは、署名した証明書の有効期間の外の日時に署名されています。',
    en: '{party}’s tree head was signed at a time outside its certificate’s validity.',
  },
  'head-after-revocation': {
    ja: '{party}のツリーヘッドは、署名した証明書の失効より後に署名されています。',
    en: '{party}’s tree head was signed after its certificate was revoked.',
  },
  'head-key-compromised': {
    ja: '{party}のツリーヘッドは、鍵の危殆化で失効した証明書の鍵で署名されています。この鍵による署名は信頼できません。',
    en: '{party}’s tree head is signed with the key of a certificate revoked as compromised: nothing signed with it is trusted.',
  },
  'head-missing': {
    ja: '{party}はツリーヘッドを回答しませんでした。以前は大きさ {earlier} のツリーヘッドを回答しています（ツリーヘッドの削除）。',
    en: '{party} answered no tree head, though it gave one of size {earlier} before (its heads were deleted).',
  },
  'head-tree-shrank': {
    ja: '{party}のツリーヘッドの大きさ {size} は、以前に回答した {earlier} より小さくなっています（記録の削除）。',
    en: '{party}’s tree head is of size {size}, smaller than the {earlier} it gave before (records removed).',
  },
  'head-inconsistent': {
    ja: '{party}の大きさ {size} のツリーヘッドは、以前に回答した大きさ {earlier} のツリーヘッドと整合しません（ログの書換え）。',
    en: '{party}’s tree head of size {size} is not consistent with the head of size {earlier} it gave before (its log was rewritten).',
  },
  'head-proof-missing': {
    ja: '{party}は、大きさ {earlier} から {size} への整合性の証明を回答しませんでした。',
    en: '{party} answered no consistency proof from size {earlier} to size {size}.',
  },
  headNoKey: {
    ja: '機関の証明書がないため署名は確認していません',
    en: 'No certificate of the institution: signature not checked',
  },
  crossCheckLead: {
    ja: 'コアシステムの記録を、照会機関・提供機関それぞれの記録と突き合わせます。コアシステムが各機関にネットワーク経由（相互TLS・署名付き）で照会し、各機関は自らの記録と署名済みツリーヘッドを回答します。各機関は期間内の自らの記録の処理通番も回答し、コアシステムに記録のないものは不一致として示します。',
    en: 'The core’s records compared with the requesters’ and the providers’ own. The core asks each institution over the network (mutual TLS, signed), and each answers with its records and its signed tree head. Each also lists the processing numbers of its own records of the period: any the core has no record of is a mismatch.',
  },
  limit: { ja: '件数（新しい順）', en: 'Records (newest first)' },
  crossCheck: { ja: '照合', en: 'Cross-check' },
  crossCheckOk: {
    ja: 'コアシステムの記録 {n}件を照合しました。すべての機関の記録と一致しています。',
    en: '{n} of the core’s records cross-checked: every institution’s records agree.',
  },
  crossCheckFound: {
    ja: 'コアシステムの記録 {n}件を照合しました。不一致 {m}件{unreachable}。',
    en: '{n} of the core’s records cross-checked: {m} mismatches{unreachable}.',
  },
  someUnreachable: { ja: '、回答のない機関があります', en: ', and some institutions did not answer' },
  truncated: {
    ja: '期間内のより古い記録は照合していません。',
    en: 'Older records of the period were not checked.',
  },
  institution: { ja: '機関', en: 'Institution' },
  asked: { ja: '照会した記録', en: 'Records asked' },
  listed: { ja: '機関の記録（期間内）', en: 'Its own records (the period)' },
  listedTruncated: { ja: '（一部）', en: ' (some)' },
  state: { ja: '状態', en: 'State' },
  signedHead: { ja: '署名済みツリーヘッド', en: 'Signed tree head' },
  headSize: { ja: '大きさ', en: 'Size' },
  notSigned: { ja: 'まだ署名されていません', en: 'Not signed yet' },
  mismatches: { ja: '不一致', en: 'Mismatches' },
  headFindingsTitle: { ja: 'ツリーヘッドの所見', en: 'Tree heads found wrong' },
  seenAgain: { ja: '計{n}回（最後は{at}）', en: '{n} times in all, the last {at}' },
  headFindingsLead: {
    ja: 'コアシステムは定期的に（ヘッド監視）、また照合のたびに、各機関の署名済みツリーヘッドを受け取り、以前に受け取ったものと整合するかを確かめています。整合しなかったツリーヘッドを新しい順に示します（最大{n}件）。',
    en: 'The core asks every institution for its signed tree head every few minutes (the head watch) and at each cross-check, and checks it against the heads it gave before. The heads that did not pass, newest first ({n} at most).',
  },
  noHeadFindings: {
    ja: '整合しなかったツリーヘッドはありません。',
    en: 'No institution’s head has failed the check.',
  },
  seenAt: { ja: '受け取った日時', en: 'Seen at' },
  finding: { ja: '所見', en: 'Finding' },
  usesLead: {
    ja: 'この監視・監督コンソールの利用記録です（新しい順に最大{n}件）。個人別の記録の表示は、機関と理由とともに記録されます。符号は記録しません。',
    en: 'The uses of this oversight console (the newest {n} at most). A resident’s exchanges shown are recorded with the institution and the reason; the code is never recorded.',
  },
  when: { ja: '日時', en: 'When' },
  who: { ja: '利用者', en: 'Account' },
  action: { ja: '画面・操作', en: 'Page or action' },
  personAction: { ja: '個人別の記録', en: 'A resident’s exchanges' },
  recordsShown: { ja: '表示した記録', en: 'Records shown' },
} as const;
export type OversightWords = ReturnType<typeof pick<typeof OVERSIGHT_MESSAGES>>;

const count = new Intl.NumberFormat('ja-JP');

/** One record as a row of the records' tables, with its inclusion check. */
export function recordRow(
  r: OversightRecord,
  names: Map<string, string>,
  csrfToken: string,
  base: string,
  lang: Lang,
): Html {
  const t = pick(OVERSIGHT_MESSAGES, lang);
  const party = (id: string) =>
    html`${names.get(id) ?? id}
      <div class="hint"><code>${id}</code></div>`;
  return html`<tr
    data-processing-number="${r.processingNumber}"
    data-outcome="${r.outcome}"
    data-non-disclosure="${r.nonDisclosure ? 'true' : 'false'}"
  >
    <td>${dateTimeIn(lang, new Date(r.requestedAt))}</td>
    <td>${party(r.requesterId)}</td>
    <td>${party(r.providerId)}</td>
    <td>${fill(t.clauseProcedure, { clause: r.clauseNo })} <code>${r.procedureId}</code></td>
    <td>${r.itemNos.map((n) => `[${n}]`).join(' ')}</td>
    <td class="${r.outcome === 'refused' || r.outcome === 'failed' ? 'status--down' : ''}">
      ${t[r.outcome]}${r.reason ? html`<div class="hint"><code>${r.reason}</code></div>` : null}
    </td>
    <td>${r.nonDisclosure ? t.nonDisclosure : ''}</td>
    <td>
      <code>${r.processingNumber}</code>
      <form method="post" action="${base}/log/verify-record">
        <input type="hidden" name="_csrf" value="${csrfToken}" />
        <input type="hidden" name="processingNumber" value="${r.processingNumber}" />
        <button class="button button--secondary" type="submit">${t.verifyRecord}</button>
      </form>
    </td>
  </tr>`;
}

/** The head of the records' tables. */
export function recordHead(lang: Lang): Html {
  const t = pick(OVERSIGHT_MESSAGES, lang);
  return html`<thead>
    <tr>
      <th>${t.requestedAt}</th>
      <th>${t.requester}</th>
      <th>${t.provider}</th>
      <th>${t.clauseAndProcedure}</th>
      <th>${t.items}</th>
      <th>${t.outcome}</th>
      <th>${t.nonDisclosure}</th>
      <th>${t.processingNumber}</th>
    </tr>
  </thead>`;
}

/**
 * The per-resident form. The code field is never filled back (`autocomplete=off`, a password-type
 * field so that it is not shown on screen or kept by the browser's form history).
 */
export function personForm(
  base: string,
  csrfToken: string,
  filled: { institutionId?: string; reason?: string },
  lang: Lang,
): Html {
  const t = pick(OVERSIGHT_MESSAGES, lang);
  return html`<p class="lead">${t.personLead}</p>
    <form method="post" action="${base}/person" class="search-form" id="person-form" autocomplete="off">
      <input type="hidden" name="_csrf" value="${csrfToken}" />
      ${textField('institutionId', t.institutionCode, filled.institutionId, { maxlength: 32, required: true })}
      <div class="form-field">
        <label for="personCode">${t.personCode}</label>
        <input
          class="input"
          type="password"
          id="personCode"
          name="personCode"
          required
          maxlength="44"
          autocomplete="off"
        />
      </div>
      <div class="form-field">
        <label for="reason">${t.reason}</label>
        <textarea class="input" id="reason" name="reason" required maxlength="500" rows="2">
${filled.reason ?? ''}</textarea>
      </div>
      <button class="button" type="submit" id="person-search">${t.show}</button>
    </form>`;
}

export function personBody(
  view: PersonView,
  names: Map<string, string>,
  csrfToken: string,
  base: string,
  lang: Lang,
): Html {
  const t = pick(OVERSIGHT_MESSAGES, lang);
  const withheld = view.records.filter((r) => r.nonDisclosure).length;
  const next =
    view.nextCursor === null
      ? null
      : new URLSearchParams({ view: view.useId, cursor: view.nextCursor, page: String(view.page + 1) });
  return html`<section id="person-records" data-count="${view.records.length}" data-page="${view.page}">
    <h2>${t.aboutResident}</h2>
    <p>
      ${fill(t.personPage, { page: view.page })}:
      ${fill(t.personCount, { n: count.format(view.records.length), withheld: count.format(withheld) })}
    </p>
    <table class="data-table">
      ${recordHead(lang)}
      <tbody>
        ${view.records.map((r) => recordRow(r, names, csrfToken, base, lang))}
      </tbody>
    </table>
    ${view.records.length === 0 ? html`<p id="no-records">${t.noPersonRecords}</p>` : null}
    ${
      next === null
        ? null
        : html`<nav class="pager" aria-label="${t.personPages}">
            <a class="button button--secondary" id="next-page" href="${base}/person?${next.toString()}"
              >${t.personOlder}</a
            >
            <p class="hint">${fill(t.personPagesNote, { minutes: PERSON_VIEW_TTL_MS / 60_000 })}</p>
          </nav>`
    }
  </section>`;
}

const bucketText = (bucket: string, lang: Lang) =>
  bucket.length > 10
    ? fill(OVERSIGHT_MESSAGES.hourBucket[lang], {
        day: dateIn(lang, bucket.slice(0, 10)),
        h: bucket.slice(11),
      })
    : dateIn(lang, bucket);

export function anomaliesBody(
  anomalies: Anomaly[],
  rules: AnomalyRules,
  p: { from: string; to: string },
  base: string,
  lang: Lang,
): Html {
  const t = pick(OVERSIGHT_MESSAGES, lang);
  const { spike, offHours, repeatedRefusals } = rules;
  const unit = (b: 'day' | 'hour') => (b === 'day' ? t.oneDay : t.oneHour);
  const extra =
    (offHours.weekends ? t.weekends : '') +
    (offHours.nationalHolidays ? t.nationalHolidays : '') +
    (offHours.holidays.length > 0 ? fill(t.holidays, { n: offHours.holidays.length }) : '');
  return html`<p class="lead">
      ${fill(t.anomaliesLead, { from: dateIn(lang, p.from), to: dateIn(lang, p.to) })}
      <strong id="anomaly-count">${anomalies.length}</strong>${t.anomaliesCount}
    </p>
    <details id="rules">
      <summary>${t.rules}</summary>
      <ul>
        <li>
          ${fill(t.spikeRule, { unit: unit(spike.bucket), min: spike.minCount, days: spike.baselineDays, factor: spike.factor })}
        </li>
        <li>
          ${fill(t.offHoursRule, { start: offHours.startHour, end: offHours.endHour, extra, min: offHours.minCount })}
        </li>
        <li>
          ${fill(t.refusalsRule, { unit: unit(repeatedRefusals.bucket), n: repeatedRefusals.threshold })}
        </li>
      </ul>
    </details>
    <table class="data-table" id="anomalies">
      <thead>
        <tr>
          <th>${t.kindOfAnomaly}</th>
          <th>${t.requester}</th>
          <th>${t.whenJst}</th>
          <th class="num">${t.count}</th>
          <th class="num">${t.baseline}</th>
          <th>${t.records}</th>
        </tr>
      </thead>
      <tbody>
        ${anomalies.map((a) => {
          const search = new URLSearchParams({
            from: a.search.from,
            to: a.search.to,
            requesterId: a.search.requesterId,
            ...(a.search.outcome === undefined ? {} : { outcome: a.search.outcome }),
          });
          return html`<tr data-kind="${a.kind}" data-requester="${a.requesterId}" data-count="${a.count}">
            <td>${t[a.kind satisfies AnomalyKind]}</td>
            <td>
              ${a.requesterName ?? t.notRegistered}
              <div class="hint"><code>${a.requesterId}</code></div>
            </td>
            <td>${bucketText(a.bucket, lang)}</td>
            <td class="num">${count.format(a.count)}</td>
            <td class="num">${a.baseline === undefined ? '' : count.format(a.baseline)}</td>
            <td><a href="${base}/records?${search.toString()}">${t.seeRecords}</a></td>
          </tr>`;
        })}
      </tbody>
    </table>
    ${anomalies.length === 0 ? html`<p id="no-anomalies">${t.noAnomalies}</p>` : null}`;
}

const HEAD_CHECK = {
  verified: 'headVerified',
  'verified-earlier': 'headVerifiedEarlier',
  invalid: 'headInvalid',
  refused: 'headRefused',
  'other-key': 'headOtherKey',
  'no-key': 'headNoKey',
} as const satisfies Record<
  NonNullable<RecordCheckResult['parties'][number]['headCheck']>,
  keyof typeof OVERSIGHT_MESSAGES
>;

export function crossCheckBody(
  result: RecordCheckResult | undefined,
  form: {
    from?: string | undefined;
    to?: string | undefined;
    institutionId?: string | undefined;
    limit?: number | undefined;
  },
  csrfToken: string,
  base: string,
  lang: Lang,
  heads: { findings: HeadFinding[]; shown: number; names: Map<string, string> },
): Html {
  const t = pick(OVERSIGHT_MESSAGES, lang);
  const partyNames = new Map(
    (result?.parties ?? []).map((p) => [p.institutionId, p.name ?? p.institutionId]),
  );
  const ok =
    result !== undefined &&
    result.findings.length === 0 &&
    result.parties.every((p) => p.status !== 'unreachable');
  return html`<p class="lead">${t.crossCheckLead}</p>
    <form method="post" action="${base}/cross-check" class="search-form" id="cross-check-form">
      <input type="hidden" name="_csrf" value="${csrfToken}" />
      ${periodFields(form, false, lang)}
      ${textField('institutionId', t.institutionCode, form.institutionId, { maxlength: 32 })}
      <div class="form-field">
        <label for="limit">${t.limit}</label>
        <input
          class="input"
          type="number"
          id="limit"
          name="limit"
          min="1"
          max="500"
          value="${String(form.limit ?? 100)}"
        />
      </div>
      <button class="button" type="submit" id="run-cross-check">${t.crossCheck}</button>
    </form>
    ${
      result === undefined
        ? null
        : html`<section
            id="cross-check"
            data-ok="${ok ? 'true' : 'false'}"
            data-findings="${result.findings.length}"
          >
            <p class="notice ${ok ? 'notice--success' : 'notice--error'}" role="status">
              ${
                ok
                  ? fill(t.crossCheckOk, { n: count.format(result.checked) })
                  : fill(t.crossCheckFound, {
                      n: count.format(result.checked),
                      m: result.findings.length,
                      unreachable: result.parties.some((p) => p.status === 'unreachable')
                        ? t.someUnreachable
                        : '',
                    })
              }${aside(lang, dateTimeIn(lang, new Date(result.checkedAt)))}
              ${result.truncated ? t.truncated : ''}
            </p>
            <table class="data-table" id="parties">
              <thead>
                <tr>
                  <th>${t.institution}</th>
                  <th class="num">${t.asked}</th>
                  <th class="num">${t.listed}</th>
                  <th>${t.state}</th>
                  <th>${t.signedHead}</th>
                </tr>
              </thead>
              <tbody>
                ${result.parties.map(
                  (p) =>
                    html`<tr data-institution="${p.institutionId}" data-status="${p.status}">
                      <th scope="row">
                        ${p.name ?? p.institutionId}
                        <div class="hint"><code>${p.institutionId}</code></div>
                      </th>
                      <td class="num">${count.format(p.asked)}</td>
                      <td class="num" data-listed="${p.listed ?? ''}">
                        ${p.listed === undefined ? '' : count.format(p.listed)}${p.listedTruncated ? t.listedTruncated : ''}
                      </td>
                      <td>${t[p.status]}${p.error ? html` <code>${p.error}</code>` : null}</td>
                      <td>
                        ${
                          p.treeHead
                            ? html`${t.headSize}
                                ${count.format(p.treeHead.treeSize)}${aside(lang, dateTimeIn(lang, new Date(p.treeHead.timestamp)))}
                                <div class="hint" data-head-check="${p.headCheck ?? ''}">
                                  ${t[HEAD_CHECK[p.headCheck ?? 'no-key']]}
                                </div>
                                ${historyLine(p, t)}`
                            : p.status === 'answered'
                              ? t.notSigned
                              : ''
                        }
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
            ${
              result.findings.length > 0
                ? html`<h2>${t.mismatches}</h2>
                    <ul id="mismatches">
                      ${result.findings.map(
                        (f) =>
                          html`<li data-kind="${f.kind}" data-party="${f.party}">
                            ${findingText(f, partyNames, lang)}
                          </li>`,
                      )}
                    </ul>`
                : null
            }
          </section>`
    }
    ${headFindingsSection(heads, lang)}`;
}

/** The heads kept with a finding (the head watch's and the cross-checks'), newest first. */
function headFindingsSection(
  heads: { findings: HeadFinding[]; shown: number; names: Map<string, string> },
  lang: Lang,
): Html {
  const t = pick(OVERSIGHT_MESSAGES, lang);
  return html`<section id="head-findings" data-count="${heads.findings.length}">
    <h2>${t.headFindingsTitle}</h2>
    <p class="lead">${fill(t.headFindingsLead, { n: heads.shown })}</p>
    ${
      heads.findings.length === 0
        ? html`<p class="notice notice--success" id="no-head-findings">${t.noHeadFindings}</p>`
        : html`<table class="data-table">
            <thead>
              <tr>
                <th>${t.seenAt}</th>
                <th>${t.institution}</th>
                <th class="num">${t.headSize}</th>
                <th>${t.finding}</th>
              </tr>
            </thead>
            <tbody>
              ${heads.findings.map(
                (h) =>
                  html`<tr data-institution="${h.institutionId}" data-kind="${h.finding}">
                    <td>${dateTimeIn(lang, new Date(h.seenAt))}</td>
                    <th scope="row">
                      ${heads.names.get(h.institutionId) ?? h.institutionId}
                      <div class="hint"><code>${h.institutionId}</code></div>
                    </th>
                    <td class="num">${h.treeSize === null ? '—' : count.format(h.treeSize)}</td>
                    <td>
                      ${findingText(
                        {
                          party: h.institutionId,
                          kind: h.finding,
                          detail: {
                            ...(h.treeSize === null ? {} : { treeSize: h.treeSize }),
                            ...(h.earlierSize === null ? {} : { earlierSize: h.earlierSize }),
                          },
                          message: h.finding,
                        },
                        heads.names,
                        lang,
                      )}
                      ${
                        h.lastSeenAt !== undefined && h.times !== undefined && h.times > 1
                          ? html`<div class="hint" data-times="${h.times}">
                              ${fill(t.seenAgain, { n: count.format(h.times), at: dateTimeIn(lang, new Date(h.lastSeenAt)) })}
                            </div>`
                          : null
                      }
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`;
}

function historyLine(p: PartyCheck, t: OversightWords): Html | null {
  if (p.history === undefined) return null;
  const text =
    p.history === 'first'
      ? t.historyFirst
      : p.history === 'same'
        ? t.historySame
        : p.history === 'consistent'
          ? fill(t.historyConsistent, { n: count.format(p.kept?.treeSize ?? 0) })
          : fill(t.historyBroken, { n: count.format(p.kept?.treeSize ?? 0) });
  return html`<div class="hint" data-head-history="${p.history}">${text}</div>`;
}

const FIELD_WORDS = {
  requester: 'fieldRequester',
  provider: 'fieldProvider',
  clause: 'fieldClause',
  procedure: 'fieldProcedure',
  items: 'fieldItems',
} as const;

const OUTCOME_WORDS = new Set(['provided', 'not_held', 'refused', 'failed', 'pending']);

/**
 * A finding in the page's language, from its kind and particulars (`detail`): the comparison's own
 * `message` is English, kept for `renkei records verify` and the log, and shown only for a kind this
 * page has no words for.
 */
export function findingText(f: ExchangeFinding, names: Map<string, string>, lang: Lang): string {
  const t = pick(OVERSIGHT_MESSAGES, lang);
  const d = f.detail ?? {};
  const outcome = (o: string | undefined) =>
    o !== undefined && OUTCOME_WORDS.has(o) ? t[o as 'provided'] : (o ?? '');
  const values = {
    party: names.get(f.party) ?? f.party,
    pn: f.processingNumber ?? '',
    role: d.role === 'provider' ? t.provisionNoun : t.inquiryNoun,
    size: d.treeSize === undefined ? '' : count.format(d.treeSize),
    earlier: d.earlierSize === undefined ? '' : count.format(d.earlierSize),
    fields: (d.fields ?? [])
      .map((name) => (name in FIELD_WORDS ? t[FIELD_WORDS[name as keyof typeof FIELD_WORDS]] : name))
      .join(t.fieldSeparator),
    theirs: outcome(d.partyOutcome),
    ours: outcome(d.coreOutcome),
    outcome: outcome(d.coreOutcome),
    delivered: d.delivered ? t.delivered : '',
    answers: d.answers !== undefined && d.answers > 1 ? fill(t.answeredTimes, { n: d.answers }) : '',
  };
  const kind =
    f.kind === 'exchange-missing' || f.kind === 'exchange-unknown-at-core'
      ? `${f.kind}-${d.role ?? 'requester'}`
      : f.kind;
  return Object.hasOwn(OVERSIGHT_MESSAGES, kind) && FINDING_KINDS.has(kind)
    ? fill(t[kind as keyof typeof OVERSIGHT_MESSAGES], values)
    : f.message;
}

const FINDING_KINDS = new Set([
  'exchange-missing-requester',
  'exchange-missing-provider',
  'exchange-unknown-at-core-requester',
  'exchange-unknown-at-core-provider',
  'exchange-disagrees',
  'exchange-outcome-disagrees',
  'exchange-provided-though-refused',
  'head-signature-invalid',
  'certificate-untrusted',
  'head-key-unknown',
  'head-outside-validity',
  'head-after-revocation',
  'head-key-compromised',
  'head-missing',
  'head-tree-shrank',
  'head-inconsistent',
  'head-proof-missing',
]);

export function usesBody(uses: OversightUse[], shown: number, lang: Lang): Html {
  const t = pick(OVERSIGHT_MESSAGES, lang);
  return html`<p class="lead">${fill(t.usesLead, { n: shown })}</p>
    <table class="data-table" id="uses">
      <thead>
        <tr>
          <th>${t.when}</th>
          <th>${t.who}</th>
          <th>${t.action}</th>
          <th>${t.outcome}</th>
          <th>${t.institution}</th>
          <th>${t.reason}</th>
          <th class="num">${t.recordsShown}</th>
        </tr>
      </thead>
      <tbody>
        ${uses.map(
          (u) =>
            html`<tr data-action="${u.action}" data-outcome="${u.outcome}">
              <td>${dateTimeIn(lang, new Date(u.at))}</td>
              <td><code>${u.accountId ?? ''}</code></td>
              <td>
                ${
                  u.action === 'person'
                    ? t.personAction
                    : u.action === 'person-page'
                      ? t.personPageAction
                      : html`<code>${u.action}</code>`
                }
              </td>
              <td><code>${u.outcome}</code></td>
              <td>${u.institutionId ? html`<code>${u.institutionId}</code>` : ''}</td>
              <td>${u.reason ?? ''}</td>
              <td class="num">${u.records === null ? '' : count.format(u.records)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}
