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
 *                               included, non-disclosure flagged, a page of 100; the code never shown
 *                               back or logged
 *   GET  person?view=&cursor=   a further page of that view, by its use id and a cursor only, for the
 *                               account that made it while it is kept (15 minutes; each page a use)
 *   GET  anomalies              the anomaly rules' findings over a period, each linked to its records
 *   GET  cross-check            the three-party cross-check's form (period, institution, how many)
 *   POST cross-check            the core's records compared with what each institution answers
 *   GET  uses                   the oversight use log: the console's own uses, newest first
 *
 * Every use is recorded in the oversight use log (`oversight_uses`: who, which page, the answer's
 * status; the per-resident view with the institution and the reason, recorded before it is shown),
 * and in the core's log, the searches' values aside. Errors: ERR_VALIDATION (a search field or
 * cursor, a missing reason, 400), ERR_UNKNOWN_INSTITUTION, ERR_UNKNOWN_PERSON_CODE (the per-resident
 * view), ERR_PERSON_VIEW_GONE (410: a further page of a view no longer kept, or another account's), ERR_CALLER_NOT_ALLOWED (403, from the guard: not an `oversight` account; a POST without the
 * form's CSRF token). Every route runs `guard` first; without a guard the plugin does not register.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
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
import { dateIn, dateTimeIn } from '../../../shared/web/dates.ts';
import { fill, pick, requestLang, type Lang } from '../../../shared/web/lang.ts';
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
import {
  OPERATOR_MESSAGES,
  aside,
  periodFields,
  periodForm,
  textField,
  type RenderedPage,
} from './operator-console.ts';
import {
  OVERSIGHT_MESSAGES,
  anomaliesBody,
  crossCheckBody,
  personBody,
  personForm,
  recordHead,
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
  /** An institution's name in the registry, in the page's language (its English name in English). */
  nameOf: (id: string, lang: Lang) => Promise<string | undefined>;
  now?: () => Date;
  base?: string;
}

const PAGE_SIZE = 50;
const HEADS_SHOWN = 20;
const USES_SHOWN = 200;

/** The heads kept with a finding shown under the cross-check (newest first). */
const HEAD_FINDINGS_SHOWN = 50;

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
const PersonPageQuery = z.strictObject({
  view: z.preprocess(empty, z.uuid().optional()),
  cursor: z.preprocess(empty, z.string().max(200).optional()),
  page: z.preprocess(empty, z.coerce.number().int().min(2).max(1_000_000).optional()),
});
const CrossCheckForm = z.strictObject({
  from: z.preprocess(empty, StatisticsDay.optional()),
  to: z.preprocess(empty, StatisticsDay.optional()),
  institutionId: z.preprocess(empty, InstitutionId.optional()),
  limit: z.preprocess(empty, z.coerce.number().int().min(1).max(RECORD_CHECK_LIMIT).optional()),
});

function range(
  p: { from?: string | undefined; to?: string | undefined },
  lang: Lang,
): { from?: string; to?: string } {
  if (p.from !== undefined && p.to !== undefined && p.from > p.to) {
    throw new RenkeiError('ERR_VALIDATION', OPERATOR_MESSAGES.fromAfterTo[lang]);
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

  /** A whole page in the console's frame, never cached. */
  const page = (reply: FastifyReply, request: FastifyRequest, title: string, titleEn: string, body: Html) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(options.render(request, { title, titleEn, body }));

  const names = async (ids: Iterable<string>, lang: Lang) => {
    const out = new Map<string, string>();
    for (const id of new Set(ids)) out.set(id, (await options.nameOf(id, lang)) ?? id);
    return out;
  };
  /**
   * The services name institutions as the registry does, in Japanese; a page in English shows the
   * registry's English names instead (an institution the registry does not know keeps its null).
   */
  const inLang = async <T extends { name: string | null }>(
    rows: readonly T[],
    idOf: (row: T) => string,
    lang: Lang,
  ): Promise<T[]> => {
    if (lang === 'ja') return [...rows];
    const named = await names(rows.map(idOf), lang);
    return rows.map((row) => (row.name === null ? row : { ...row, name: named.get(idOf(row)) ?? row.name }));
  };

  app.get('/records', async (request, reply) => {
    const lang = requestLang(request);
    const query = parseInput(RecordQuery, request.query, 'search');
    const { from, to, cursor, ...filter } = query;
    const result = await oversight.search({
      ...range({ from, to }, lang),
      ...filter,
      ...(cursor === undefined ? {} : { cursor }),
      limit: PAGE_SIZE,
    });
    const named = await names(
      result.records.flatMap((r) => [r.requesterId, r.providerId]),
      lang,
    );
    const { csrfToken } = options.staff(request);
    return page(
      reply,
      request,
      '情報提供等の記録',
      'Provision records',
      recordsBody(query, result, named, csrfToken, base, lang),
    );
  });

  app.get('/institutions', async (request, reply) => {
    const p = parseInput(Period, request.query, 'period (from, to)');
    const to = p.to ?? jstDate(now());
    const from = p.from ?? addDays(to, -27);
    const lang = requestLang(request);
    const counted = await oversight.figures(range({ from, to }, lang));
    const figures = {
      ...counted,
      institutions: await inLang(counted.institutions, (f) => f.institutionId, lang),
    };
    return page(
      reply,
      request,
      '機関別の状況',
      'By institution',
      institutionsBody(figures, { from, to }, base, lang),
    );
  });

  app.get('/log', async (request, reply) => {
    const { csrfToken } = options.staff(request);
    return page(
      reply,
      request,
      '記録の改ざん検知',
      'Tamper-evident log',
      await logBody(oversight, csrfToken, base, requestLang(request)),
    );
  });

  app.post('/log/verify', async (request, reply) => {
    const verification = await oversight.verifyLog();
    const { csrfToken } = options.staff(request);
    return page(
      reply,
      request,
      '記録の改ざん検知',
      'Tamper-evident log',
      html`${verificationBody(verification, requestLang(request))}${await logBody(oversight, csrfToken, base, requestLang(request))}`,
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
    return page(
      reply,
      request,
      '記録の改ざん検知',
      'Tamper-evident log',
      html`${inclusionBody(result, requestLang(request))}${await logBody(oversight, csrfToken, base, requestLang(request))}`,
    );
  });
  app.get('/person', async (request, reply) => {
    const { accountId, csrfToken } = options.staff(request);
    const lang = requestLang(request);
    const query = parseInput(PersonPageQuery, request.query, 'page of a resident’s view');
    if (query.view === undefined) {
      return page(
        reply,
        request,
        '個人別の記録',
        'A resident’s exchanges',
        personForm(base, csrfToken, {}, lang),
      );
    }
    // A further page of a view made by POST: by its use id and cursor only, recorded by the service.
    recorded.add(request);
    const view = await oversight.personPage({
      accountId,
      useId: query.view,
      cursor: query.cursor ?? '',
      page: query.page ?? 2,
    });
    const named = await names(
      view.records.flatMap((r) => [r.requesterId, r.providerId]),
      lang,
    );
    return page(
      reply,
      request,
      '個人別の記録',
      'A resident’s exchanges',
      html`${personForm(base, csrfToken, {}, lang)} ${personBody(view, named, csrfToken, base, lang)}`,
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
    const named = await names(
      view.records.flatMap((r) => [r.requesterId, r.providerId]),
      requestLang(request),
    );
    return page(
      reply,
      request,
      '個人別の記録',
      'A resident’s exchanges',
      html`${personForm(
        base,
        csrfToken,
        { institutionId: form.institutionId, reason: form.reason },
        requestLang(request),
      )}
      ${personBody(view, named, csrfToken, base, requestLang(request))}`,
    );
  });

  app.get('/anomalies', async (request, reply) => {
    const p = parseInput(Period, request.query, 'period (from, to)');
    const to = p.to ?? jstDate(now());
    const from = p.from ?? addDays(to, -6);
    const lang = requestLang(request);
    range({ from, to }, lang);
    const found = await oversight.anomalies({ from, to });
    const englished = await inLang(
      found.map((a) => ({ ...a, name: a.requesterName })),
      (a) => a.requesterId,
      lang,
    );
    const anomalies = englished.map(({ name, ...a }) => ({ ...a, requesterName: name }));
    return page(
      reply,
      request,
      '異常の検知',
      'Anomalies',
      html`${periodForm(`${base}/anomalies`, { from, to }, 'search-form', lang)}
      ${anomaliesBody(anomalies, oversight.anomalyRules, { from, to }, base, lang)}`,
    );
  });

  /** The heads kept with a finding, and their institutions' names in `lang`, for the cross-check's page. */
  const headFindings = async (lang: Lang) => {
    const findings = await oversight.headFindings(HEAD_FINDINGS_SHOWN);
    const named = await names(
      findings.map((f) => f.institutionId),
      lang,
    );
    return { findings, shown: HEAD_FINDINGS_SHOWN, names: named };
  };

  app.get('/cross-check', async (request, reply) => {
    const { csrfToken } = options.staff(request);
    const lang = requestLang(request);
    return page(
      reply,
      request,
      '三者照合',
      'Three-party cross-check',
      crossCheckBody(undefined, {}, csrfToken, base, lang, await headFindings(lang)),
    );
  });

  app.post('/cross-check', async (request, reply) => {
    const { csrfToken } = options.staff(request);
    const { _csrf: _token, ...input } = formFields(request.body);
    const form = parseInput(CrossCheckForm, input, 'cross-check');
    const lang = requestLang(request);
    const checked = await oversight.crossCheck({
      ...range(form, lang),
      ...(form.institutionId === undefined ? {} : { institutionId: form.institutionId }),
      limit: form.limit ?? 100,
    });
    const result = { ...checked, parties: await inLang(checked.parties, (p) => p.institutionId, lang) };
    return page(
      reply,
      request,
      '三者照合',
      'Three-party cross-check',
      crossCheckBody(result, form, csrfToken, base, lang, await headFindings(lang)),
    );
  });

  app.get('/uses', async (request, reply) => {
    const uses = await oversight.uses(USES_SHOWN);
    return page(reply, request, '利用記録', 'Use log', usesBody(uses, USES_SHOWN, requestLang(request)));
  });
  return Promise.resolve();
};

/** The records', figures' and log's words (the other pages' are oversight-pages.ts'), each language's. */
export const OVERSIGHT_CONSOLE_MESSAGES = {
  ...OVERSIGHT_MESSAGES,
  recordsLead: {
    ja: 'コアシステムが記録したすべての情報提供等の記録を検索できます。個人番号・符号・個人を識別する情報は表示しません。',
    en: 'Every exchange record the core kept can be searched here. No Individual Number, code or information identifying a person is shown.',
  },
  clause: { ja: '項', en: 'Clause' },
  procedure: { ja: '事務手続', en: 'Procedure' },
  all: { ja: 'すべて', en: 'All' },
  search: { ja: '検索', en: 'Search' },
  noRecords: { ja: '該当する記録はありません。', en: 'No records match.' },
  pages: { ja: 'ページ', en: 'Pages' },
  nextPage: { ja: '次の{n}件', en: 'Next {n}' },
  figuresLead: {
    ja: '{from}〜{to}（日本時間）の情報照会',
    en: 'Requests from {from} to {to} (JST):',
  },
  figuresOf: { ja: '件のうち、拒否', en: ', of which refused' },
  figuresFailed: { ja: '件、失敗', en: ', failed' },
  figuresNonDisclosure: { ja: '件、不開示の設定', en: ', set to non-disclosure' },
  figuresEnd: { ja: '件。', en: '.' },
  asRequester: { ja: '情報照会（照会機関として）', en: 'Requests (as requester)' },
  asProvider: { ja: '情報提供（提供機関として）', en: 'Provisions (as provider)' },
  refusalsAndFailures: { ja: '拒否・失敗の内訳', en: 'Refusals and failures' },
  noRefusals: { ja: 'この期間に拒否・失敗はありません。', en: 'No refusals or failures in this period.' },
  clauseRequested: { ja: '項（照会）', en: 'Clause (requested)' },
  clauseNo: { ja: '{clause}項', en: 'clause {clause}' },
  side: { ja: '立場', en: 'Side' },
  logLead: {
    ja: 'コアシステムは、すべての記録の変更を改ざん検知可能なログ（Merkle木）に追記し、その木の頭（ツリーヘッド）に署名します。検証は、署名、ツリーヘッド同士の整合性、ログのすべての事象、記録の各行を確かめます。',
    en: 'The core appends every change of a record to a tamper-evident log (a Merkle tree) and signs the tree’s head. Verifying checks the signatures, the heads’ consistency, every event of the log and every row of the records.',
  },
  verifyLog: { ja: 'ログ全体を検証', en: 'Verify the log' },
  verifyInclusion: { ja: '記録の包含を検証', en: 'Verify a record’s inclusion' },
  signedHeads: { ja: '署名済みツリーヘッド', en: 'Signed tree heads' },
  headsStored: {
    ja: '保存されたツリーヘッド {n}件（新しい順に最大{shown}件を表示）',
    en: '{n} tree heads stored (the newest {shown} at most shown)',
  },
  signedAt: { ja: '署名日時', en: 'Signed at' },
  treeSize: { ja: '木の大きさ', en: 'Tree size' },
  rootHash: { ja: 'ルートハッシュ', en: 'Root hash' },
  keyId: { ja: '鍵ID', en: 'Key ID' },
  verifiedOk: {
    ja: '検証しました。ログと記録に不整合はありません。',
    en: 'Verified: the log and the records agree.',
  },
  verifiedFindings: {
    ja: '検証しました。不整合が {n}件 見つかりました。',
    en: 'Verified: {n} inconsistencies found.',
  },
  verifiedNoKey: {
    ja: '検証しました。不整合はありませんが、コアの公開鍵がないため署名は確かめていません。',
    en: 'Verified: no inconsistency, but without the core’s public key the signatures were not checked.',
  },
  verifiedNoHead: {
    ja: '検証しました。不整合はありませんが、署名済みのツリーヘッドがまだないため、ログを保証する署名はありません。',
    en: 'Verified: no inconsistency, but no signed tree head vouches for the log yet.',
  },
  events: { ja: 'ログの事象', en: 'Events in the log' },
  purged: { ja: '保存期間を過ぎ削除された事象', en: 'Events purged after their retention' },
  headsCounted: { ja: 'ツリーヘッド（保存・検証済み）', en: 'Tree heads (stored, verified)' },
  countSeparator: { ja: '・', en: ', ' },
  head: { ja: 'ツリーヘッドの署名を確かめられません。', en: 'The tree head’s signature does not verify.' },
  leaf: {
    ja: '記録の事象がツリーヘッドの木に含まれていません（改ざんの疑い）。',
    en: 'The record’s events are not in the tree head’s tree (possible tampering).',
  },
  uncovered: {
    ja: '署名済みのツリーヘッドがまだこの記録を含んでいません。',
    en: 'No signed tree head covers this record yet.',
  },
  empty: { ja: 'この記録の事象がありません。', en: 'This record has no events.' },
  'no-key': {
    ja: 'コアの公開鍵がないため確かめられません。',
    en: 'Cannot be checked without the core’s public key.',
  },
  'no-head': { ja: '署名済みのツリーヘッドがありません。', en: 'There is no signed tree head.' },
  unknown: { ja: 'この処理番号の記録はありません。', en: 'No record has this processing number.' },
  included: {
    ja: 'この記録の事象はすべて、署名済みツリーヘッド（大きさ {n}）の木に含まれています。',
    en: 'Every event of this record is in the tree of the signed tree head (size {n}).',
  },
} as const;

const count = new Intl.NumberFormat('ja-JP');

function recordsBody(
  q: z.infer<typeof RecordQuery>,
  result: { records: OversightRecord[]; nextCursor: string | null },
  names: Map<string, string>,
  csrfToken: string,
  base: string,
  lang: Lang,
): Html {
  const t = pick(OVERSIGHT_CONSOLE_MESSAGES, lang);
  const next = new URLSearchParams(
    Object.entries({ ...q, cursor: result.nextCursor ?? '' }).flatMap(([k, v]) =>
      v === undefined || v === '' ? [] : [[k, String(v)]],
    ),
  );
  return html`<p class="lead">${t.recordsLead}</p>
    <form method="get" action="${base}/records" class="search-form" role="search">
      ${periodFields(q, false, lang)}
      ${textField('institutionId', t.institutionCode, q.institutionId, { maxlength: 32 })}
      ${textField('requesterId', t.requester, q.requesterId, { maxlength: 32 })}
      ${textField('clauseNo', t.clause, q.clauseNo, { maxlength: 8 })}
      ${textField('procedureId', t.procedure, q.procedureId, { maxlength: 16 })}
      <div class="form-field">
        <label for="outcome">${t.outcome}</label>
        <select class="input" id="outcome" name="outcome">
          <option value="">${t.all}</option>
          ${RECORD_OUTCOMES.map(
            (o) => html`<option value="${o}" ${o === q.outcome ? html`selected` : null}>${t[o]}</option>`,
          )}
        </select>
      </div>
      <button class="button" type="submit">${t.search}</button>
    </form>
    <table class="data-table" id="records">
      ${recordHead(lang)}
      <tbody>
        ${result.records.map((r) => recordRow(r, names, csrfToken, base, lang))}
      </tbody>
    </table>
    ${result.records.length === 0 ? html`<p id="no-records">${t.noRecords}</p>` : null}
    ${
      result.nextCursor
        ? html`<nav class="pager" aria-label="${t.pages}">
            <a class="button button--secondary" id="next-page" href="${base}/records?${next.toString()}"
              >${fill(t.nextPage, { n: PAGE_SIZE })}</a
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

function institutionsBody(
  figures: OversightFigures,
  p: { from: string; to: string },
  base: string,
  lang: Lang,
): Html {
  const t = pick(OVERSIGHT_CONSOLE_MESSAGES, lang);
  const total = figures.total;
  const heads = (names: string[]) => names.map((n) => html`<th class="num">${n}</th>`);
  return html`${periodForm(`${base}/institutions`, p, 'search-form', lang)}
    <p class="lead">
      ${fill(t.figuresLead, { from: dateIn(lang, p.from), to: dateIn(lang, p.to) })}
      <strong id="total">${count.format(total.total)}</strong>${t.figuresOf}
      <strong id="refused">${count.format(total.refused)}</strong>${t.figuresFailed}
      <strong id="failed">${count.format(total.failed)}</strong>${t.figuresNonDisclosure}
      <strong id="non-disclosure">${count.format(total.nonDisclosure)}</strong>${t.figuresEnd}
    </p>
    <table class="data-table" id="by-institution">
      <thead>
        <tr>
          <th rowspan="2">${t.institution}</th>
          <th colspan="6">${t.asRequester}</th>
          <th colspan="5">${t.asProvider}</th>
        </tr>
        <tr>
          ${heads([t.count, t.provided, t.not_held, t.refused, t.failed, t.nonDisclosure])}
          ${heads([t.count, t.provided, t.not_held, t.refused, t.failed])}
        </tr>
      </thead>
      <tbody>
        ${figures.institutions.map(
          (f) =>
            html`<tr data-institution="${f.institutionId}">
              <th scope="row">
                ${f.name ?? t.notRegistered}
                <div class="hint"><code>${f.institutionId}</code></div>
              </th>
              ${countsCells(f.asRequester, true)} ${countsCells(f.asProvider, false)}
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>${t.refusalsAndFailures}</h2>
    ${
      figures.institutions.filter((f) => f.reasons.length > 0).length === 0
        ? html`<p>${t.noRefusals}</p>`
        : figures.institutions
            .filter((f) => f.reasons.length > 0)
            .map(
              (f) =>
                html`<section class="refusals" data-institution="${f.institutionId}">
                  <h3>${f.name ?? f.institutionId}${aside(lang, f.institutionId)}</h3>
                  ${
                    f.refusalsByClause.length > 0
                      ? html`<table class="data-table">
                          <thead>
                            <tr>
                              <th>${t.clauseRequested}</th>
                              <th class="num">${t.refused}</th>
                              <th class="num">${t.failed}</th>
                            </tr>
                          </thead>
                          <tbody>
                            ${f.refusalsByClause.map(
                              (c) =>
                                html`<tr data-clause="${c.clauseNo}">
                                  <td>${fill(t.clauseNo, { clause: c.clauseNo })}</td>
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
                        <th>${t.side}</th>
                        <th>${t.outcome}</th>
                        <th>${t.reason}</th>
                        <th class="num">${t.count}</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${f.reasons.map(
                        (r) =>
                          html`<tr>
                            <td>${r.side === 'requester' ? t.requester : t.provider}</td>
                            <td>${t[r.outcome]}</td>
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

async function logBody(
  oversight: OversightService,
  csrfToken: string,
  base: string,
  lang: Lang,
): Promise<Html> {
  const t = pick(OVERSIGHT_CONSOLE_MESSAGES, lang);
  const { count: stored, heads } = await oversight.heads(HEADS_SHOWN);
  return html`<p class="lead">${t.logLead}</p>
    <div class="actions">
      <form method="post" action="${base}/log/verify">
        <input type="hidden" name="_csrf" value="${csrfToken}" />
        <button class="button" type="submit" id="verify-log">${t.verifyLog}</button>
      </form>
      <form method="post" action="${base}/log/verify-record" class="search-form">
        <input type="hidden" name="_csrf" value="${csrfToken}" />
        <div class="form-field">
          <label for="processingNumber">${t.processingNumber}</label>
          <input class="input" id="processingNumber" name="processingNumber" required maxlength="36" />
        </div>
        <button class="button button--secondary" type="submit">${t.verifyInclusion}</button>
      </form>
    </div>
    <h2>${t.signedHeads}</h2>
    <p>${fill(t.headsStored, { n: count.format(stored), shown: HEADS_SHOWN })}</p>
    <table class="data-table" id="heads">
      <thead>
        <tr>
          <th>${t.signedAt}</th>
          <th class="num">${t.treeSize}</th>
          <th>${t.rootHash}</th>
          <th>${t.keyId}</th>
        </tr>
      </thead>
      <tbody>
        ${heads.map(
          (h) =>
            html`<tr data-tree-size="${h.treeSize}">
              <td>${dateTimeIn(lang, new Date(h.timestamp))}</td>
              <td class="num">${count.format(h.treeSize)}</td>
              <td><code>${h.rootHash.slice(0, 16)}…</code></td>
              <td><code>${h.kid}</code></td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

function verificationBody(v: LogVerification, lang: Lang): Html {
  const t = pick(OVERSIGHT_CONSOLE_MESSAGES, lang);
  const a = v.audit;
  // Whole only when heads signed with the core's key vouch for the log: without one, the log was
  // checked against its own hashes only, which whoever can write the database can make agree.
  const vouched = v.keyed && a.heads.status === 'signed' && a.heads.verified > 0;
  const ok = a.findings.length === 0 && vouched;
  const text = ok
    ? t.verifiedOk
    : a.findings.length > 0
      ? fill(t.verifiedFindings, { n: a.findings.length })
      : !v.keyed
        ? t.verifiedNoKey
        : t.verifiedNoHead;
  return html`<section id="verification" data-ok="${ok ? 'true' : 'false'}" aria-live="polite">
    <p class="notice ${ok ? 'notice--success' : 'notice--error'}" role="status">
      ${text}${aside(lang, dateTimeIn(lang, new Date(v.checkedAt)))}
    </p>
    <table class="data-table">
      <tbody>
        <tr>
          <th>${t.events}</th>
          <td class="num" id="events">${count.format(a.events)}</td>
        </tr>
        <tr>
          <th>${t.purged}</th>
          <td class="num">${count.format(a.purged)}</td>
        </tr>
        <tr>
          <th>${t.records}</th>
          <td class="num" id="records-checked">${count.format(a.records)}</td>
        </tr>
        <tr>
          <th>${t.headsCounted}</th>
          <td class="num" id="heads-verified">
            ${count.format(a.heads.stored)}${t.countSeparator}${count.format(a.heads.verified)}
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

function inclusionBody(r: RecordVerification, lang: Lang): Html {
  const t = pick(OVERSIGHT_CONSOLE_MESSAGES, lang);
  const ok = r.verdict.ok;
  return html`<section id="inclusion" data-ok="${ok ? 'true' : 'false'}">
    <p class="notice ${ok ? 'notice--success' : 'notice--error'}" role="status">
      ${t.processingNumber} <code>${r.processingNumber}</code>:
      ${r.verdict.ok ? fill(t.included, { n: r.verdict.head.treeSize }) : t[r.verdict.reason]}
    </p>
  </section>`;
}
