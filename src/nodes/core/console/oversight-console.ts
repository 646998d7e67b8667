/**
 * The oversight console (監視・監督コンソール) of the Personal Information Protection Commission
 * (個人情報保護委員会), a Fastify plugin of the core's console mounted under `/oversight`. Read-only:
 *
 *   GET  records                every exchange record at the core, searched by period (JST days),
 *                               institution (either side), clause, procedure and outcome, 50 a page;
 *                               never a person (no person key, no code: service/oversight.ts)
 *   GET  institutions           per institution: inquiries made and answered by outcome, refusals and
 *                               failures by clause and by reason, non-disclosure flags counted
 *   GET  log                    the core's signed tree heads (the newest 20) and the checks below
 *   POST log/verify             the whole log verified as `renkei records verify` verifies the core's:
 *                               heads' signatures and consistency, every event, every record row
 *   POST log/verify-record      one record's events proved included under the latest signed head, as
 *                               the portal's residents check theirs
 *   GET  person                 the per-resident view's form: an institution, its code for the person
 *                               (as a complaint brings it: never an Individual Number), a reason
 *   POST person                 every exchange about that person across the network, refusals
 *                               included, non-disclosure flagged; the code never shown back or logged
 *   GET  anomalies              the anomaly rules' findings over a period, each linked to its records
 *   GET  cross-check            the three-party cross-check's form (period, institution, how many)
 *   POST cross-check            the core's records compared with what each institution answers
 *   GET  uses                   the oversight use log: the console's own uses, newest first
 *
 * Every use is recorded in the oversight use log (`oversight_uses`: who, which page, the answer's
 * status; the per-resident view with the institution and the reason, recorded before it is shown),
 * and in the core's log, the searches' values aside. Errors: ERR_VALIDATION (a search field or
 * cursor, a missing reason, 400), ERR_UNKNOWN_INSTITUTION, ERR_UNKNOWN_PERSON_CODE (the per-resident
 * view), ERR_CALLER_NOT_ALLOWED (403, from the guard: not an `oversight` account; a POST without the
 * form's CSRF token). Every route runs `guard` first; without a guard the plugin does not register.
 */
import type { FastifyPluginAsync, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { z } from 'zod';
import {
  ClauseNo,
  InstitutionId,
  PersonCode,
  ProcedureId,
  ProcessingNumber,
} from '../../../protocol/identifiers.ts';
import { RECORD_CHECK_LIMIT } from '../../../protocol/record-checks.ts';
import { StatisticsDay } from '../../../protocol/admin.ts';
import { addDays, jstDate, jstDayStart } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import { parseInput } from '../../../shared/http.ts';
import type { Logger } from '../../../shared/logger.ts';
import { html, type Html } from '../../../shared/web/html.ts';
import { japaneseDate, japaneseDateTime } from '../../../shared/web/dates.ts';
import { formFields } from '../../../shared/web/server.ts';
import { RECORD_OUTCOMES, type RecordOutcome } from '../model.ts';
import type {
  LogVerification,
  OutcomeCounts,
  OversightFigures,
  OversightRecord,
  OversightService,
  RecordVerification,
} from '../service/oversight.ts';
import { periodFields, periodForm, type RenderedPage } from './operator-console.ts';
import {
  OUTCOME_NAMES,
  RECORD_HEAD,
  anomaliesBody,
  crossCheckBody,
  personBody,
  personForm,
  recordRow,
  usesBody,
} from './oversight-pages.ts';

export interface OversightConsoleOptions {
  guard: preHandlerHookHandler | preHandlerHookHandler[];
  oversight: OversightService;
  logger: Logger;
  render: (request: FastifyRequest, page: RenderedPage) => string;
  staff: (request: FastifyRequest) => { accountId: string; csrfToken: string };
  /** Institutions' names, for the records' table (the registry's). */
  nameOf: (id: string) => Promise<string | undefined>;
  now?: () => Date;
  base?: string;
}

const PAGE_SIZE = 50;
const HEADS_SHOWN = 20;
const USES_SHOWN = 200;

const empty = (v: unknown) => (v === '' ? undefined : v);
const RecordQuery = z.strictObject({
  from: z.preprocess(empty, StatisticsDay.optional()),
  to: z.preprocess(empty, StatisticsDay.optional()),
  institutionId: z.preprocess(empty, InstitutionId.optional()),
  requesterId: z.preprocess(empty, InstitutionId.optional()),
  clauseNo: z.preprocess(empty, ClauseNo.optional()),
  procedureId: z.preprocess(empty, ProcedureId.optional()),
  outcome: z.preprocess(empty, z.enum(RECORD_OUTCOMES as [RecordOutcome, ...RecordOutcome[]]).optional()),
  cursor: z.preprocess(empty, z.string().max(200).optional()),
});
const Period = z.strictObject({
  from: z.preprocess(empty, StatisticsDay.optional()),
  to: z.preprocess(empty, StatisticsDay.optional()),
});
const RecordToVerify = z.object({ processingNumber: ProcessingNumber });
const PersonForm = z.strictObject({
  institutionId: InstitutionId,
  personCode: PersonCode,
  reason: z.string().trim().min(1, 'a reason is required').max(500),
});
const CrossCheckForm = z.strictObject({
  from: z.preprocess(empty, StatisticsDay.optional()),
  to: z.preprocess(empty, StatisticsDay.optional()),
  institutionId: z.preprocess(empty, InstitutionId.optional()),
  limit: z.preprocess(empty, z.coerce.number().int().min(1).max(RECORD_CHECK_LIMIT).optional()),
});

function range(p: { from?: string | undefined; to?: string | undefined }): { from?: string; to?: string } {
  if (p.from !== undefined && p.to !== undefined && p.from > p.to) {
    throw new RenkeiError(
      'ERR_VALIDATION',
      '開始日は終了日以前にしてください。 (from must be on or before to)',
    );
  }
  return {
    ...(p.from === undefined ? {} : { from: jstDayStart(p.from) }),
    ...(p.to === undefined ? {} : { to: jstDayStart(p.to, 1) }),
  };
}

export const oversightConsole: FastifyPluginAsync<OversightConsoleOptions> = (app, options) => {
  const guards = [options.guard].flat();
  if (guards.length === 0 || guards.some((g) => typeof g !== 'function')) {
    throw new TypeError('oversightConsole needs a guard');
  }
  for (const guard of guards) app.addHook('preHandler', guard);
  const base = options.base ?? '/oversight';
  const now = options.now ?? (() => new Date());
  const { oversight } = options;

  // Every use of the console is itself recorded: who, which page (the route's pattern, never the
  // URL with its search values), and what it answered. Refusals are the guard's, recorded by it.
  // The per-resident view records its own use, before anything is shown (`recorded`); every other use
  // is recorded once answered. The guard's refusals are the security log's.
  const recorded = new WeakSet<FastifyRequest>();
  const accountOf = (request: FastifyRequest): string | null => {
    try {
      return options.staff(request).accountId;
    } catch {
      return null;
    }
  };
  app.addHook('onResponse', async (request, reply) => {
    const account = accountOf(request);
    const route = request.routeOptions.url ?? null;
    options.logger.info(
      { account, route, method: request.method, status: reply.statusCode },
      'oversight console used',
    );
    if (recorded.has(request) || account === null) return;
    try {
      await oversight.recordUse({
        accountId: account,
        action: `${request.method} ${route ?? '(none)'}`,
        outcome: String(reply.statusCode),
      });
    } catch (error) {
      options.logger.error({ err: error, route }, 'oversight use not recorded');
    }
  });

  const send = (request: FastifyRequest, title: string, titleEn: string, body: Html) =>
    options.render(request, { title, titleEn, body });
  const htmlReply = <R extends { type(t: string): R; header(k: string, v: string): R }>(reply: R) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');

  const names = async (ids: Iterable<string>) => {
    const out = new Map<string, string>();
    for (const id of new Set(ids)) out.set(id, (await options.nameOf(id)) ?? id);
    return out;
  };

  app.get('/records', async (request, reply) => {
    const query = parseInput(RecordQuery, request.query, 'search');
    const { from, to, cursor, ...filter } = query;
    const result = await oversight.search({
      ...range({ from, to }),
      ...filter,
      ...(cursor === undefined ? {} : { cursor }),
      limit: PAGE_SIZE,
    });
    const named = await names(result.records.flatMap((r) => [r.requesterId, r.providerId]));
    const { csrfToken } = options.staff(request);
    return htmlReply(reply).send(
      send(
        request,
        '情報提供等の記録',
        'Provision records',
        recordsBody(query, result, named, csrfToken, base),
      ),
    );
  });

  app.get('/institutions', async (request, reply) => {
    const p = parseInput(Period, request.query, 'period (from, to)');
    const to = p.to ?? jstDate(now());
    const from = p.from ?? addDays(to, -27);
    const figures = await oversight.figures(range({ from, to }));
    return htmlReply(reply).send(
      send(request, '機関別の状況', 'By institution', institutionsBody(figures, { from, to }, base)),
    );
  });

  app.get('/log', async (request, reply) => {
    const { csrfToken } = options.staff(request);
    return htmlReply(reply).send(
      send(request, '記録の改ざん検知', 'Tamper-evident log', await logBody(oversight, csrfToken, base)),
    );
  });

  app.post('/log/verify', async (request, reply) => {
    const verification = await oversight.verifyLog();
    const { csrfToken } = options.staff(request);
    return htmlReply(reply).send(
      send(
        request,
        '記録の改ざん検知',
        'Tamper-evident log',
        html`${verificationBody(verification)}${await logBody(oversight, csrfToken, base)}`,
      ),
    );
  });

  app.post('/log/verify-record', async (request, reply) => {
    const fields = formFields(request.body);
    const { processingNumber } = parseInput(
      RecordToVerify,
      { processingNumber: (fields.processingNumber ?? '').trim() },
      'processing number',
    );
    const result = await oversight.verifyRecord(processingNumber);
    const { csrfToken } = options.staff(request);
    return htmlReply(reply).send(
      send(
        request,
        '記録の改ざん検知',
        'Tamper-evident log',
        html`${inclusionBody(result)}${await logBody(oversight, csrfToken, base)}`,
      ),
    );
  });
  app.get('/person', async (request, reply) => {
    const { csrfToken } = options.staff(request);
    return htmlReply(reply).send(
      send(request, '個人別の記録', 'A resident’s exchanges', personForm(base, csrfToken, {})),
    );
  });

  app.post('/person', async (request, reply) => {
    const { accountId, csrfToken } = options.staff(request);
    const fields = formFields(request.body);
    const { _csrf: _token, ...input } = fields;
    let form: z.infer<typeof PersonForm>;
    try {
      form = parseInput(PersonForm, input, 'form (institution, code, reason)');
    } catch (error) {
      // Recorded as any refusal is; the code is never part of what is kept.
      recorded.add(request);
      await oversight.recordUse({
        accountId,
        action: 'person',
        outcome: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL',
        institutionId: InstitutionId.safeParse(input.institutionId).data ?? null,
        reason: (input.reason ?? '').trim().slice(0, 500) || null,
      });
      throw error;
    }
    recorded.add(request);
    const view = await oversight.person({ accountId, ...form });
    const named = await names(view.records.flatMap((r) => [r.requesterId, r.providerId]));
    return htmlReply(reply).send(
      send(
        request,
        '個人別の記録',
        'A resident’s exchanges',
        html`${personForm(base, csrfToken, { institutionId: form.institutionId, reason: form.reason })}
        ${personBody(view, named, csrfToken, base)}`,
      ),
    );
  });

  app.get('/anomalies', async (request, reply) => {
    const p = parseInput(Period, request.query, 'period (from, to)');
    const to = p.to ?? jstDate(now());
    const from = p.from ?? addDays(to, -6);
    range({ from, to });
    const anomalies = await oversight.anomalies({ from, to });
    return htmlReply(reply).send(
      send(
        request,
        '異常の検知',
        'Anomalies',
        html`${periodForm(`${base}/anomalies`, { from, to }, 'search-form')}
        ${anomaliesBody(anomalies, oversight.anomalyRules, { from, to }, base)}`,
      ),
    );
  });

  app.get('/cross-check', async (request, reply) => {
    const { csrfToken } = options.staff(request);
    return htmlReply(reply).send(
      send(request, '三者照合', 'Three-party cross-check', crossCheckBody(undefined, {}, csrfToken, base)),
    );
  });

  app.post('/cross-check', async (request, reply) => {
    const { csrfToken } = options.staff(request);
    const { _csrf: _token, ...input } = formFields(request.body);
    const form = parseInput(CrossCheckForm, input, 'cross-check');
    const result = await oversight.crossCheck({
      ...range(form),
      ...(form.institutionId === undefined ? {} : { institutionId: form.institutionId }),
      limit: form.limit ?? 100,
    });
    return htmlReply(reply).send(
      send(request, '三者照合', 'Three-party cross-check', crossCheckBody(result, form, csrfToken, base)),
    );
  });

  app.get('/uses', async (request, reply) => {
    const uses = await oversight.uses(USES_SHOWN);
    return htmlReply(reply).send(send(request, '利用記録', 'Use log', usesBody(uses, USES_SHOWN)));
  });
  return Promise.resolve();
};

const count = new Intl.NumberFormat('ja-JP');

function recordsBody(
  q: z.infer<typeof RecordQuery>,
  result: { records: OversightRecord[]; nextCursor: string | null },
  names: Map<string, string>,
  csrfToken: string,
  base: string,
): Html {
  const next = new URLSearchParams(
    Object.entries({ ...q, cursor: result.nextCursor ?? '' }).flatMap(([k, v]) =>
      v === undefined || v === '' ? [] : [[k, String(v)]],
    ),
  );
  return html`<p class="lead">
      コアシステムが記録したすべての情報提供等の記録を検索できます。個人番号・符号・個人を識別する情報は表示しません。
    </p>
    <form method="get" action="${base}/records" class="search-form" role="search">
      ${periodFields(q, false)}
      <div class="form-field">
        <label for="institutionId">機関コード <span lang="en">Institution</span></label>
        <input
          class="input"
          id="institutionId"
          name="institutionId"
          value="${q.institutionId ?? ''}"
          maxlength="32"
        />
      </div>
      <div class="form-field">
        <label for="requesterId">照会機関 <span lang="en">Requester</span></label>
        <input
          class="input"
          id="requesterId"
          name="requesterId"
          value="${q.requesterId ?? ''}"
          maxlength="32"
        />
      </div>
      <div class="form-field">
        <label for="clauseNo">項 <span lang="en">Clause</span></label>
        <input class="input" id="clauseNo" name="clauseNo" value="${q.clauseNo ?? ''}" maxlength="8" />
      </div>
      <div class="form-field">
        <label for="procedureId">事務手続 <span lang="en">Procedure</span></label>
        <input
          class="input"
          id="procedureId"
          name="procedureId"
          value="${q.procedureId ?? ''}"
          maxlength="16"
        />
      </div>
      <div class="form-field">
        <label for="outcome">結果 <span lang="en">Outcome</span></label>
        <select class="input" id="outcome" name="outcome">
          <option value="">すべて</option>
          ${RECORD_OUTCOMES.map(
            (o) =>
              html`<option value="${o}" ${o === q.outcome ? html`selected` : null}>
                ${OUTCOME_NAMES[o]}
              </option>`,
          )}
        </select>
      </div>
      <button class="button" type="submit">検索 <span lang="en">Search</span></button>
    </form>
    <table class="data-table" id="records">
      ${RECORD_HEAD}
      <tbody>
        ${result.records.map((r) => recordRow(r, names, csrfToken, base))}
      </tbody>
    </table>
    ${result.records.length === 0 ? html`<p id="no-records">該当する記録はありません。</p>` : null}
    ${
      result.nextCursor
        ? html`<nav class="pager" aria-label="ページ">
            <a class="button button--secondary" id="next-page" href="${base}/records?${next.toString()}"
              >次の${PAGE_SIZE}件</a
            >
          </nav>`
        : null
    }`;
}

function countsCells(c: OutcomeCounts, requester: boolean): Html {
  return html`<td class="num">${count.format(c.total)}</td>
    <td class="num">${count.format(c.provided)}</td>
    <td class="num">${count.format(c.notHeld)}</td>
    <td class="num" data-refused="${c.refused}">${count.format(c.refused)}</td>
    <td class="num" data-failed="${c.failed}">${count.format(c.failed)}</td>
    ${requester ? html`<td class="num" data-non-disclosure="${c.nonDisclosure}">${count.format(c.nonDisclosure)}</td>` : null}`;
}

function institutionsBody(figures: OversightFigures, p: { from: string; to: string }, base: string): Html {
  const t = figures.total;
  return html`${periodForm(`${base}/institutions`, p, 'search-form')}
    <p class="lead">
      ${japaneseDate(p.from)}〜${japaneseDate(p.to)}（日本時間）の情報照会
      <strong id="total">${count.format(t.total)}</strong>件のうち、拒否
      <strong id="refused">${count.format(t.refused)}</strong>件、失敗
      <strong id="failed">${count.format(t.failed)}</strong>件、不開示の設定
      <strong id="non-disclosure">${count.format(t.nonDisclosure)}</strong>件。
    </p>
    <table class="data-table" id="by-institution">
      <thead>
        <tr>
          <th rowspan="2">機関</th>
          <th colspan="6">情報照会（照会機関として）</th>
          <th colspan="5">情報提供（提供機関として）</th>
        </tr>
        <tr>
          <th class="num">件数</th>
          <th class="num">提供</th>
          <th class="num">不保持</th>
          <th class="num">拒否</th>
          <th class="num">失敗</th>
          <th class="num">不開示</th>
          <th class="num">件数</th>
          <th class="num">提供</th>
          <th class="num">不保持</th>
          <th class="num">拒否</th>
          <th class="num">失敗</th>
        </tr>
      </thead>
      <tbody>
        ${figures.institutions.map(
          (f) =>
            html`<tr data-institution="${f.institutionId}">
              <th scope="row">
                ${f.name ?? '（登録簿にない機関）'}
                <div class="hint"><code>${f.institutionId}</code></div>
              </th>
              ${countsCells(f.asRequester, true)} ${countsCells(f.asProvider, false)}
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>拒否・失敗の内訳 <span lang="en">Refusals and failures</span></h2>
    ${
      figures.institutions.filter((f) => f.reasons.length > 0).length === 0
        ? html`<p>この期間に拒否・失敗はありません。</p>`
        : figures.institutions
            .filter((f) => f.reasons.length > 0)
            .map(
              (f) =>
                html`<section class="refusals" data-institution="${f.institutionId}">
                  <h3>${f.name ?? f.institutionId}（${f.institutionId}）</h3>
                  ${
                    f.refusalsByClause.length > 0
                      ? html`<table class="data-table">
                          <thead>
                            <tr>
                              <th>項（照会）</th>
                              <th class="num">拒否</th>
                              <th class="num">失敗</th>
                            </tr>
                          </thead>
                          <tbody>
                            ${f.refusalsByClause.map(
                              (c) =>
                                html`<tr data-clause="${c.clauseNo}">
                                  <td>${c.clauseNo}項</td>
                                  <td class="num">${count.format(c.refused)}</td>
                                  <td class="num">${count.format(c.failed)}</td>
                                </tr>`,
                            )}
                          </tbody>
                        </table>`
                      : null
                  }
                  <table class="data-table">
                    <thead>
                      <tr>
                        <th>立場</th>
                        <th>結果</th>
                        <th>理由</th>
                        <th class="num">件数</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${f.reasons.map(
                        (r) =>
                          html`<tr>
                            <td>${r.side === 'requester' ? '照会機関' : '提供機関'}</td>
                            <td>${OUTCOME_NAMES[r.outcome]}</td>
                            <td><code>${r.reason}</code></td>
                            <td class="num">${count.format(r.count)}</td>
                          </tr>`,
                      )}
                    </tbody>
                  </table>
                </section>`,
            )
    }`;
}

async function logBody(oversight: OversightService, csrfToken: string, base: string): Promise<Html> {
  const { count: stored, heads } = await oversight.heads(HEADS_SHOWN);
  return html`<p class="lead">
      コアシステムは、すべての記録の変更を改ざん検知可能なログ（Merkle木）に追記し、その木の頭（ツリーヘッド）に署名します。
      検証は、署名、ツリーヘッド同士の整合性、ログのすべての事象、記録の各行を確かめます。
    </p>
    <div class="actions">
      <form method="post" action="${base}/log/verify">
        <input type="hidden" name="_csrf" value="${csrfToken}" />
        <button class="button" type="submit" id="verify-log">
          ログ全体を検証 <span lang="en">Verify the log</span>
        </button>
      </form>
      <form method="post" action="${base}/log/verify-record" class="search-form">
        <input type="hidden" name="_csrf" value="${csrfToken}" />
        <div class="form-field">
          <label for="processingNumber">処理番号 <span lang="en">Processing number</span></label>
          <input class="input" id="processingNumber" name="processingNumber" required maxlength="36" />
        </div>
        <button class="button button--secondary" type="submit">記録の包含を検証</button>
      </form>
    </div>
    <h2>署名済みツリーヘッド <span lang="en">Signed tree heads</span></h2>
    <p>保存されたツリーヘッド ${count.format(stored)}件（新しい順に最大${HEADS_SHOWN}件を表示）</p>
    <table class="data-table" id="heads">
      <thead>
        <tr>
          <th>署名日時</th>
          <th class="num">木の大きさ</th>
          <th>ルートハッシュ</th>
          <th>鍵ID</th>
        </tr>
      </thead>
      <tbody>
        ${heads.map(
          (h) =>
            html`<tr data-tree-size="${h.treeSize}">
              <td>${japaneseDateTime(new Date(h.timestamp))}</td>
              <td class="num">${count.format(h.treeSize)}</td>
              <td><code>${h.rootHash.slice(0, 16)}…</code></td>
              <td><code>${h.kid}</code></td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

function verificationBody(v: LogVerification): Html {
  const a = v.audit;
  // Whole only when heads signed with the core's key vouch for the log: without one, the log was
  // checked against its own hashes only, which whoever can write the database can make agree.
  const vouched = v.keyed && a.heads.status === 'signed' && a.heads.verified > 0;
  const ok = a.findings.length === 0 && vouched;
  const text = ok
    ? '検証しました。ログと記録に不整合はありません。'
    : a.findings.length > 0
      ? `検証しました。不整合が ${a.findings.length}件 見つかりました。`
      : !v.keyed
        ? '検証しました。不整合はありませんが、コアの公開鍵がないため署名は確かめていません。'
        : '検証しました。不整合はありませんが、署名済みのツリーヘッドがまだないため、ログを保証する署名はありません。';
  return html`<section id="verification" data-ok="${ok ? 'true' : 'false'}" aria-live="polite">
    <p class="notice ${ok ? 'notice--success' : 'notice--error'}" role="status">
      ${text}（${japaneseDateTime(new Date(v.checkedAt))}）
    </p>
    <table class="data-table">
      <tbody>
        <tr>
          <th>ログの事象</th>
          <td class="num" id="events">${count.format(a.events)}</td>
        </tr>
        <tr>
          <th>保存期間を過ぎ削除された事象</th>
          <td class="num">${count.format(a.purged)}</td>
        </tr>
        <tr>
          <th>記録</th>
          <td class="num" id="records-checked">${count.format(a.records)}</td>
        </tr>
        <tr>
          <th>ツリーヘッド（保存・検証済み）</th>
          <td class="num" id="heads-verified">
            ${count.format(a.heads.stored)}・${count.format(a.heads.verified)}
          </td>
        </tr>
      </tbody>
    </table>
    ${
      a.findings.length > 0
        ? html`<ul id="findings">
            ${a.findings.slice(0, 100).map((f) => html`<li><code>${f.kind}</code> ${f.message}</li>`)}
          </ul>`
        : null
    }
  </section>`;
}

const INCLUSION_TEXT = {
  head: 'ツリーヘッドの署名を確かめられません。',
  leaf: '記録の事象がツリーヘッドの木に含まれていません（改ざんの疑い）。',
  uncovered: '署名済みのツリーヘッドがまだこの記録を含んでいません。',
  empty: 'この記録の事象がありません。',
  'no-key': 'コアの公開鍵がないため確かめられません。',
  'no-head': '署名済みのツリーヘッドがありません。',
  unknown: 'この処理番号の記録はありません。',
} as const;

function inclusionBody(r: RecordVerification): Html {
  const ok = r.verdict.ok;
  return html`<section id="inclusion" data-ok="${ok ? 'true' : 'false'}">
    <p class="notice ${ok ? 'notice--success' : 'notice--error'}" role="status">
      処理番号 <code>${r.processingNumber}</code>:
      ${
        r.verdict.ok
          ? `この記録の事象はすべて、署名済みツリーヘッド（大きさ ${r.verdict.head.treeSize}）の木に含まれています。`
          : INCLUSION_TEXT[r.verdict.reason]
      }
    </p>
  </section>`;
}
