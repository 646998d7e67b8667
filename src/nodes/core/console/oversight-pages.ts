/**
 * The oversight console's pages beyond the records search (oversight-console.ts serves them): a
 * resident's exchanges, the anomalies, the three-party cross-check and the console's own use log,
 * rendered from what service/oversight.ts answers. Never a code, a person key or an Individual
 * Number: the records have no field for the key, and the per-resident form is never filled back
 * with the code it was given.
 */
import { html, type Html } from '../../../shared/web/html.ts';
import { japaneseDate, japaneseDateTime } from '../../../shared/web/dates.ts';
import type { OversightUse, RecordOutcome } from '../model.ts';
import type { Anomaly, AnomalyKind, AnomalyRules } from '../service/anomalies.ts';
import type { OversightRecord, PersonView } from '../service/oversight.ts';
import { PERSON_RECORDS_SHOWN } from '../service/oversight.ts';
import type { RecordCheckResult } from '../service/record-checks.ts';
import { periodFields } from './operator-console.ts';

export const OUTCOME_NAMES: Record<RecordOutcome, string> = {
  provided: '提供',
  not_held: '不保持',
  refused: '拒否',
  failed: '失敗',
  pending: '処理中',
};

const count = new Intl.NumberFormat('ja-JP');

/** One record as a row of the records' tables, with its inclusion check. */
export function recordRow(
  r: OversightRecord,
  names: Map<string, string>,
  csrfToken: string,
  base: string,
): Html {
  const party = (id: string) =>
    html`${names.get(id) ?? id}
      <div class="hint"><code>${id}</code></div>`;
  return html`<tr
    data-processing-number="${r.processingNumber}"
    data-outcome="${r.outcome}"
    data-non-disclosure="${r.nonDisclosure ? 'true' : 'false'}"
  >
    <td>${japaneseDateTime(new Date(r.requestedAt))}</td>
    <td>${party(r.requesterId)}</td>
    <td>${party(r.providerId)}</td>
    <td>${r.clauseNo}項 <code>${r.procedureId}</code></td>
    <td>${r.itemNos.map((n) => `[${n}]`).join(' ')}</td>
    <td class="${r.outcome === 'refused' || r.outcome === 'failed' ? 'status--down' : ''}">
      ${OUTCOME_NAMES[r.outcome]}${r.reason ? html`<div class="hint"><code>${r.reason}</code></div>` : null}
    </td>
    <td>${r.nonDisclosure ? '不開示' : ''}</td>
    <td>
      <code>${r.processingNumber}</code>
      <form method="post" action="${base}/log/verify-record">
        <input type="hidden" name="_csrf" value="${csrfToken}" />
        <input type="hidden" name="processingNumber" value="${r.processingNumber}" />
        <button class="button button--secondary" type="submit">記録を検証</button>
      </form>
    </td>
  </tr>`;
}

const RECORD_HEAD = html`<thead>
  <tr>
    <th>照会日時</th>
    <th>照会機関</th>
    <th>提供機関</th>
    <th>項・事務手続</th>
    <th>特定個人情報</th>
    <th>結果</th>
    <th>不開示</th>
    <th>処理番号</th>
  </tr>
</thead>`;

export { RECORD_HEAD };

/**
 * The per-resident form. The code field is never filled back (`autocomplete=off`, a password-type
 * field so that it is not shown on screen or kept by the browser's form history).
 */
export function personForm(
  base: string,
  csrfToken: string,
  filled: { institutionId?: string; reason?: string },
): Html {
  return html`<p class="lead">
      苦情等で本人の記録を確かめるときに使います。本人の属する機関に、その機関の符号（機関別符号）を照会してください。個人番号では検索できません。
      利用は、機関と理由とともに利用記録に残ります。
    </p>
    <form method="post" action="${base}/person" class="search-form" id="person-form" autocomplete="off">
      <input type="hidden" name="_csrf" value="${csrfToken}" />
      <div class="form-field">
        <label for="institutionId">機関コード <span lang="en">Institution</span></label>
        <input
          class="input"
          id="institutionId"
          name="institutionId"
          value="${filled.institutionId ?? ''}"
          required
          maxlength="32"
        />
      </div>
      <div class="form-field">
        <label for="personCode">その機関の符号 <span lang="en">The institution’s code</span></label>
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
        <label for="reason">利用の理由 <span lang="en">Reason</span></label>
        <textarea class="input" id="reason" name="reason" required maxlength="500" rows="2">
${filled.reason ?? ''}</textarea>
      </div>
      <button class="button" type="submit" id="person-search">表示 <span lang="en">Show</span></button>
    </form>`;
}

export function personBody(
  view: PersonView,
  names: Map<string, string>,
  csrfToken: string,
  base: string,
): Html {
  const withheld = view.records.filter((r) => r.nonDisclosure).length;
  return html`<section id="person-records" data-count="${view.records.length}">
    <h2>この者に関するやりとり <span lang="en">Exchanges about this resident</span></h2>
    <p>
      ${count.format(view.records.length)}件（不開示の設定
      ${count.format(withheld)}件：本人のマイナポータルには表示されません）。
      ${view.truncated ? html`新しい順に${PERSON_RECORDS_SHOWN}件までを表示しています。` : null}
    </p>
    <table class="data-table">
      ${RECORD_HEAD}
      <tbody>
        ${view.records.map((r) => recordRow(r, names, csrfToken, base))}
      </tbody>
    </table>
    ${view.records.length === 0 ? html`<p id="no-records">この者に関する記録はありません。</p>` : null}
  </section>`;
}

const ANOMALY_NAMES: Record<AnomalyKind, string> = {
  spike: '照会件数の急増',
  'off-hours': '時間外の照会',
  'repeated-refusals': '拒否の繰り返し',
};

const bucketText = (bucket: string) =>
  bucket.length > 10 ? `${japaneseDate(bucket.slice(0, 10))} ${bucket.slice(11)}時台` : japaneseDate(bucket);

export function anomaliesBody(
  anomalies: Anomaly[],
  rules: AnomalyRules,
  p: { from: string; to: string },
  base: string,
): Html {
  const { spike, offHours, repeatedRefusals } = rules;
  const unit = (b: 'day' | 'hour') => (b === 'day' ? '1日' : '1時間');
  return html`<p class="lead">
      ${japaneseDate(p.from)}〜${japaneseDate(p.to)}（日本時間）に規則に当たった照会機関
      <strong id="anomaly-count">${anomalies.length}</strong>件。
    </p>
    <details id="rules">
      <summary>検知の規則 <span lang="en">Rules</span></summary>
      <ul>
        <li>
          照会件数の急増：${unit(spike.bucket)}の照会が${spike.minCount}件以上で、直前${spike.baselineDays}日の中央値の${spike.factor}倍を超える
        </li>
        <li>
          時間外の照会：${offHours.startHour}時より前か${offHours.endHour}時以降${offHours.weekends ? '、土日' : ''}${offHours.holidays.length > 0 ? `、祝日（${offHours.holidays.length}日）` : ''}の照会が1日${offHours.minCount}件以上
        </li>
        <li>
          拒否の繰り返し：${unit(repeatedRefusals.bucket)}に同じ照会機関の拒否が${repeatedRefusals.threshold}件以上
        </li>
      </ul>
    </details>
    <table class="data-table" id="anomalies">
      <thead>
        <tr>
          <th>種類</th>
          <th>照会機関</th>
          <th>日時（日本時間）</th>
          <th class="num">件数</th>
          <th class="num">通常（中央値）</th>
          <th>記録</th>
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
            <td>${ANOMALY_NAMES[a.kind]}</td>
            <td>
              ${a.requesterName ?? '（登録簿にない機関）'}
              <div class="hint"><code>${a.requesterId}</code></div>
            </td>
            <td>${bucketText(a.bucket)}</td>
            <td class="num">${count.format(a.count)}</td>
            <td class="num">${a.baseline === undefined ? '' : count.format(a.baseline)}</td>
            <td><a href="${base}/records?${search.toString()}">記録を見る</a></td>
          </tr>`;
        })}
      </tbody>
    </table>
    ${anomalies.length === 0 ? html`<p id="no-anomalies">この期間に規則に当たったものはありません。</p>` : null}`;
}

const PARTY_STATUS: Record<RecordCheckResult['parties'][number]['status'], string> = {
  answered: '回答あり',
  unreachable: '回答なし',
  'not-asked': '照会対象外',
};

const HEAD_CHECK: Record<NonNullable<RecordCheckResult['parties'][number]['headCheck']>, string> = {
  verified: '署名を確認しました（機関の証明書）',
  invalid: '署名を確認できません（改ざんの疑い）',
  'other-key': '以前の証明書による署名のため確認していません',
  'no-key': '機関の証明書がないため署名は確認していません',
};

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
): Html {
  const ok =
    result !== undefined &&
    result.findings.length === 0 &&
    result.parties.every((p) => p.status !== 'unreachable');
  return html`<p class="lead">
      コアシステムの記録を、照会機関・提供機関それぞれの記録と突き合わせます。コアシステムが各機関にネットワーク経由（相互TLS・署名付き）で照会し、各機関は自らの記録と署名済みツリーヘッドを回答します。
    </p>
    <form method="post" action="${base}/cross-check" class="search-form" id="cross-check-form">
      <input type="hidden" name="_csrf" value="${csrfToken}" />
      ${periodFields(form, false)}
      <div class="form-field">
        <label for="institutionId">機関コード <span lang="en">Institution</span></label>
        <input
          class="input"
          id="institutionId"
          name="institutionId"
          value="${form.institutionId ?? ''}"
          maxlength="32"
        />
      </div>
      <div class="form-field">
        <label for="limit">件数（新しい順） <span lang="en">Records</span></label>
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
      <button class="button" type="submit" id="run-cross-check">
        照合 <span lang="en">Cross-check</span>
      </button>
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
                  ? `コアシステムの記録 ${count.format(result.checked)}件を照合しました。すべての機関の記録と一致しています。`
                  : `コアシステムの記録 ${count.format(result.checked)}件を照合しました。不一致 ${result.findings.length}件${result.parties.some((p) => p.status === 'unreachable') ? '、回答のない機関があります' : ''}。`
              }（${japaneseDateTime(new Date(result.checkedAt))}）
              ${result.truncated ? '期間内のより古い記録は照合していません。' : ''}
            </p>
            <table class="data-table" id="parties">
              <thead>
                <tr>
                  <th>機関</th>
                  <th class="num">照会した記録</th>
                  <th>状態</th>
                  <th>署名済みツリーヘッド</th>
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
                      <td>${PARTY_STATUS[p.status]}${p.error ? html` <code>${p.error}</code>` : null}</td>
                      <td>
                        ${
                          p.treeHead
                            ? html`大きさ
                                ${count.format(p.treeHead.treeSize)}（${japaneseDateTime(new Date(p.treeHead.timestamp))}）
                                <div class="hint" data-head-check="${p.headCheck ?? ''}">
                                  ${HEAD_CHECK[p.headCheck ?? 'no-key']}
                                </div>`
                            : p.status === 'answered'
                              ? 'まだ署名されていません'
                              : ''
                        }
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
            ${
              result.findings.length > 0
                ? html`<h2>不一致 <span lang="en">Mismatches</span></h2>
                    <ul id="mismatches">
                      ${result.findings.map(
                        (f) =>
                          html`<li data-kind="${f.kind}" data-party="${f.party}">
                            <code>${f.kind}</code> ${f.message}
                          </li>`,
                      )}
                    </ul>`
                : null
            }
          </section>`
    }`;
}

export function usesBody(uses: OversightUse[], shown: number): Html {
  return html`<p class="lead">
      この監視・監督コンソールの利用記録です（新しい順に最大${shown}件）。個人別の記録の表示は、機関と理由とともに記録されます。符号は記録しません。
    </p>
    <table class="data-table" id="uses">
      <thead>
        <tr>
          <th>日時</th>
          <th>利用者</th>
          <th>画面・操作</th>
          <th>結果</th>
          <th>機関</th>
          <th>理由</th>
          <th class="num">表示した記録</th>
        </tr>
      </thead>
      <tbody>
        ${uses.map(
          (u) =>
            html`<tr data-action="${u.action}" data-outcome="${u.outcome}">
              <td>${japaneseDateTime(new Date(u.at))}</td>
              <td><code>${u.accountId ?? ''}</code></td>
              <td>${u.action === 'person' ? '個人別の記録' : html`<code>${u.action}</code>`}</td>
              <td><code>${u.outcome}</code></td>
              <td>${u.institutionId ? html`<code>${u.institutionId}</code>` : ''}</td>
              <td>${u.reason ?? ''}</td>
              <td class="num">${u.records === null ? '' : count.format(u.records)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}
