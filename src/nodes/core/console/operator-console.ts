/**
 * The operator's console pages on the core (運用者コンソール), as a Fastify plugin to mount in a web app
 * made by `createWebApp` (src/shared/web/server.ts: CSP without inline script or style, the shared
 * stylesheet and design tokens):
 *
 *   GET  statistics              the seeds' statistics: 週あたり提供件数 as a bar chart (Chart.js), by
 *                                procedure and by item as the seeds' tables, by requester and provider kind
 *   GET  statistics.csv          the same figures as CSV (protocol/statistics-csv.ts)
 *   GET  statistics-chart.js     the chart's ES module (bundled at mount)
 *   GET  legal                   the legal table: versions and their days, clauses, procedures, items and layouts
 *   GET  legal/diff              what changed between two versions
 *   GET  health                  each node up, the core's queues, answer times p50/p99
 *
 * Every route runs `guard` first (a Fastify preHandler): the consoles' login (staff accounts, roles)
 * is mounted by whoever mounts this, e.g. `guard: requireRole('operator')`. The plugin itself trusts
 * nobody: without a guard it does not register.
 */
import type { FastifyPluginAsync, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { z } from 'zod';
import {
  formatLegalTableDiff,
  LEGAL_DIFF_WORDS,
  type LegalTableDiff,
} from '../../../domain/legal-table/diff.ts';
import type { LegalTable } from '../../../domain/legal-table/types.ts';
import { StatisticsDay, type Statistics, type StatisticsRow } from '../../../protocol/admin.ts';
import { statisticsCsv } from '../../../protocol/statistics-csv.ts';
import { institutionKindName } from '../service/records.ts';
import { jstDate } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import { parseInput } from '../../../shared/http.ts';
import { html, page, type Html } from '../../../shared/web/html.ts';
import { dateIn, dateTimeIn } from '../../../shared/web/dates.ts';
import { fill, pick, requestLang, type Lang } from '../../../shared/web/lang.ts';
import type { LegalVersionService } from '../service/legal-versions.ts';
import type { NetworkHealthService } from '../service/network-health.ts';
import type { RecordService } from '../service/records.ts';
import { bundleStatisticsChart } from './chart-bundle.ts';

export interface OperatorConsoleOptions {
  /** Runs before every route of the console: the login's role check (and its CSRF check). Required. */
  guard: preHandlerHookHandler | preHandlerHookHandler[];
  records: RecordService;
  legalVersions: LegalVersionService;
  health: NetworkHealthService;
  /**
   * The page around each page's body: the consoles' chrome (menu, account, logout, language) when
   * the core's console mounts it (core-console.ts); without it, the plugin's own plain page and menu.
   */
  render?: (request: FastifyRequest, page: RenderedPage) => string;
  /** Where the plugin is mounted (its `prefix`), for links between its pages; default `/operator`. */
  base?: string;
  now?: () => Date;
}

export interface RenderedPage {
  title: string;
  titleEn: string;
  body: Html;
  /** ES modules, by absolute path. */
  scripts?: string[];
}

const SERVICE = { name: '運用者コンソール', nameEn: "Operator's console", href: '' };

/** The operator's pages' words, each language's (shared/web/lang.ts). */
export const OPERATOR_MESSAGES = {
  menu: { ja: 'コンソール', en: 'Console' },
  statistics: { ja: '統計', en: 'Statistics' },
  legal: { ja: '別表第二・レイアウト', en: 'Legal table' },
  legalTitle: { ja: '別表第二・データ標準レイアウト', en: 'Legal table and layouts' },
  diffTitle: { ja: '版の差分', en: 'Differences between versions' },
  health: { ja: '稼働状況', en: 'Network health' },
  fromAfterTo: {
    ja: '開始日は終了日以前にしてください。',
    en: 'The start day must be on or before the end day.',
  },
  checkedAt: { ja: '確認時刻', en: 'Checked at' },
  nodes: { ja: 'ノード', en: 'Nodes' },
  institution: { ja: '機関', en: 'Institution' },
  kind: { ja: '種別', en: 'Kind' },
  state: { ja: '状態', en: 'State' },
  response: { ja: '応答', en: 'Response' },
  up: { ja: '稼働中', en: 'up' },
  down: { ja: '停止', en: 'down' },
  queues: { ja: '待ち行列', en: 'Queues' },
  awaitingProvider: { ja: '提供者の回答待ちの照会', en: 'Requests awaiting the provider' },
  undelivered: { ja: '照会者へ未配信の回答', en: 'Answers undelivered' },
  keptAnswers: { ja: '保管中の暗号化回答', en: 'Sealed answers kept' },
  providerNotices: { ja: '提供者への失敗通知', en: 'Failure notices to providers' },
  residentNotices: { ja: '異動の通知', en: 'Notices of change' },
  portalNotices: { ja: 'マイナポータルへのお知らせ', en: 'Portal notices' },
  answerTimes: { ja: '回答時間（直近{m}分）', en: 'Answer times, last {m} minutes' },
  answered: { ja: '件数', en: 'Answered' },
  median: { ja: '中央値 p50', en: 'Median p50' },
  max: { ja: '最大', en: 'Max' },
  provisions: { ja: '提供件数', en: 'Provisions' },
  notHeld: { ja: '不保持', en: 'Not held' },
  refused: { ja: '拒否', en: 'Refused' },
  failed: { ja: '失敗', en: 'Failed' },
  requests: { ja: '照会件数', en: 'Requests' },
  from: { ja: '開始日', en: 'From' },
  to: { ja: '終了日', en: 'To' },
  show: { ja: '表示', en: 'Show' },
  summary: {
    ja: '{from}〜{to}（日本時間）の情報提供件数は',
    en: 'Provisions from {from} to {to} (JST):',
  },
  summaryRest: {
    ja: '件 （照会 {total}件、不保持 {notHeld}件、拒否 {refused}件、失敗 {failed}件）。',
    en: '(requests {total}, not held {notHeld}, refused {refused}, failed {failed}).',
  },
  csv: { ja: 'CSVで保存', en: 'Export CSV' },
  perWeek: { ja: '週あたり提供件数', en: 'Provisions per week (Mon–Sun, JST)' },
  perWeekChart: { ja: '週あたり提供件数の棒グラフ', en: 'Bar chart of provisions per week' },
  byProcedure: { ja: '情報照会している主な事務手続及び件数', en: 'By procedure' },
  procedureName: { ja: '手続名', en: 'Procedure' },
  byItem: { ja: '情報提供されている主な特定個人情報及び件数', en: 'By item' },
  itemName: { ja: '特定個人情報［特定個人情報番号］', en: 'Item [item number]' },
  byRequesterKind: { ja: '照会機関の種別', en: 'By requester kind' },
  byProviderKind: { ja: '提供機関の種別', en: 'By provider kind' },
  unknown: { ja: '（不明）', en: '(unknown)' },
  in_force: { ja: '施行中', en: 'In force' },
  scheduled: { ja: '施行予定', en: 'Scheduled' },
  superseded: { ja: '旧版', en: 'Superseded' },
  stored: { ja: '新しい版を保存しました。', en: 'The new version is stored.' },
  unchanged: {
    ja: 'この版はその施行日で既に保存されています。',
    en: 'This version was already stored with that day.',
  },
  versions: { ja: '版', en: 'Versions' },
  loadVersion: { ja: '新しい版を読み込む', en: 'Load a version' },
  effectiveFrom: { ja: '施行日', en: 'In force from' },
  digest: { ja: 'ダイジェスト', en: 'Digest' },
  loadedBy: { ja: '読込', en: 'Loaded by' },
  diffWithInForce: { ja: '施行中の版との差分', en: 'Differences from the version in force' },
  shownVersion: { ja: '表示中の版', en: 'Version shown' },
  clauses: { ja: '項', en: 'Clauses' },
  clause: { ja: '項', en: 'Clause' },
  business: { ja: '事務', en: 'Business' },
  requester: { ja: '情報照会者', en: 'Requester' },
  providerItems: { ja: '情報提供者と特定個人情報', en: 'Providers and items' },
  inForce: { ja: '施行', en: 'In force' },
  procedures: { ja: '事務手続', en: 'Procedures' },
  appliedTo: { ja: '申請先', en: 'Applied to' },
  items: { ja: '特定個人情報', en: 'Items' },
  attachmentsOmitted: { ja: '省略できる添付書類', en: 'Attachments omitted' },
  itemsAndLayouts: { ja: '特定個人情報とデータ標準レイアウト', en: 'Items and layouts' },
  layoutCount: { ja: '{n}版', en: '{n} versions' },
  layoutVersion: { ja: '版 {v}', en: 'Version {v}' },
  field: { ja: '項目', en: 'Field' },
  name: { ja: '名前', en: 'Name' },
  type: { ja: '型', en: 'Type' },
  required: { ja: '必須', en: 'Required' },
  optional: { ja: '任意', en: 'Optional' },
  constraints: { ja: '制約', en: 'Constraints' },
  maxLength: { ja: '最大{n}文字', en: 'at most {n} characters' },
  span: { ja: '{from}〜{to}', en: '{from} – {to}' },
} as const;
type OperatorWords = ReturnType<typeof pick<typeof OPERATOR_MESSAGES>>;

const Period = z.strictObject({ from: StatisticsDay.optional(), to: StatisticsDay.optional() });
const DiffQuery = z.strictObject({
  from: z.string().regex(/^[0-9a-f]{64}$/),
  to: z.string().regex(/^[0-9a-f]{64}$/),
});
const LegalQuery = z.strictObject({
  version: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** After a load from the console (legal-load-console.ts): stored, or the same version already was. */
  loaded: z.enum(['stored', 'unchanged']).optional(),
});

export const operatorConsole: FastifyPluginAsync<OperatorConsoleOptions> = async (app, options) => {
  const guards = [options.guard].flat();
  if (guards.length === 0 || guards.some((g) => typeof g !== 'function')) {
    throw new TypeError('operatorConsole needs a guard');
  }
  const base = options.base ?? '/operator';
  const now = options.now ?? (() => new Date());
  const service = { ...SERVICE, href: `${base}/statistics` };
  const chart = await bundleStatisticsChart();
  // Every route of this plugin, and only them (Fastify encapsulation): the guard first.
  for (const guard of guards) app.addHook('preHandler', guard);

  const navOf = (t: OperatorWords) =>
    html`<nav aria-label="${t.menu}">
      <ul class="console-nav">
        <li><a href="${base}/statistics">${t.statistics}</a></li>
        <li><a href="${base}/legal">${t.legal}</a></li>
        <li><a href="${base}/health">${t.health}</a></li>
      </ul>
    </nav>`;
  const render = (
    request: FastifyRequest,
    title: string,
    titleEn: string,
    body: Html,
    scripts?: string[],
  ) => {
    if (options.render)
      return options.render(request, { title, titleEn, body, ...(scripts ? { scripts } : {}) });
    const lang = requestLang(request);
    return page({
      title: lang === 'en' ? titleEn : title,
      service,
      lang,
      body: html`${navOf(pick(OPERATOR_MESSAGES, lang))}${body}`,
      ...(scripts ? { scripts } : {}),
    });
  };

  /** The period asked for, by default the last 12 weeks to today (JST). */
  function period(query: unknown, lang: Lang): { from: string; to: string } {
    const asked = parseInput(Period, query, 'period (from, to)');
    const to = asked.to ?? jstDate(now());
    const from = asked.from ?? jstDate(new Date(Date.parse(`${to}T00:00:00Z`) - 83 * 86_400_000));
    if (from > to) throw new RenkeiError('ERR_VALIDATION', OPERATOR_MESSAGES.fromAfterTo[lang]);
    return { from, to };
  }

  app.get('/statistics-chart.js', (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(chart),
  );

  app.get('/statistics.csv', async (request, reply) => {
    const statistics = await options.records.statistics(period(request.query, requestLang(request)));
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="renkei-statistics.csv"')
      .send(statisticsCsv(statistics));
  });

  app.get('/statistics', async (request, reply) => {
    const lang = requestLang(request);
    const p = period(request.query, lang);
    const statistics = await options.records.statistics(p);
    return reply
      .type('text/html; charset=utf-8')
      .send(
        render(
          request,
          '統計',
          'Statistics',
          statisticsBody(statistics, p, base, lang, options.legalVersions.tableOn(now())),
          [`${base}/statistics-chart.js`],
        ),
      );
  });

  app.get('/legal', async (request, reply) => {
    const lang = requestLang(request);
    const t = pick(OPERATOR_MESSAGES, lang);
    const { version, loaded } = parseInput(LegalQuery, request.query, 'version');
    const versions = options.legalVersions.list();
    const shown = version === undefined ? undefined : options.legalVersions.get(version);
    const table = shown?.table ?? options.legalVersions.tableOn(now());
    return reply
      .type('text/html; charset=utf-8')
      .send(
        render(
          request,
          OPERATOR_MESSAGES.legalTitle.ja,
          OPERATOR_MESSAGES.legalTitle.en,
          html`${loaded ? loadedNotice(loaded, t) : null}${legalBody(versions, table, base, lang)}`,
        ),
      );
  });

  app.get('/legal/diff', async (request, reply) => {
    const { from, to } = parseInput(DiffQuery, request.query, 'versions to compare (from, to)');
    const diff = options.legalVersions.diff(from, to);
    return reply
      .type('text/html; charset=utf-8')
      .send(
        render(
          request,
          OPERATOR_MESSAGES.diffTitle.ja,
          OPERATOR_MESSAGES.diffTitle.en,
          diffBody(diff, requestLang(request)),
        ),
      );
  });

  app.get('/health', async (request, reply) => {
    const lang = requestLang(request);
    const t = pick(OPERATOR_MESSAGES, lang);
    const health = await options.health.check();
    const q = health.queues;
    const at = health.answerTimes;
    const ms = (v: number | null) => (v === null ? '—' : `${v} ms`);
    const queue = (label: string, value: number) =>
      html`<tr>
        <th>${label}</th>
        <td class="num">${value}</td>
      </tr>`;
    const body = html` <p class="lead">${t.checkedAt} ${dateTimeIn(lang, new Date(health.checkedAt))}</p>
      <h2>${t.nodes}</h2>
      <table class="data-table" id="nodes">
        <thead>
          <tr>
            <th>${t.institution}</th>
            <th>${t.kind}</th>
            <th>${t.state}</th>
            <th class="num">${t.response}</th>
          </tr>
        </thead>
        <tbody>
          ${health.nodes.map(
            (n) =>
              html`<tr data-node="${n.id}">
                <td>${lang === 'en' ? n.nameEn : n.name}${aside(lang, n.id)}</td>
                <td>${institutionKindName(n.kind, lang) ?? n.kind}</td>
                <td class="${n.up ? '' : 'status--down'}">${n.up ? t.up : `${t.down} (${n.error ?? ''})`}</td>
                <td class="num">${ms(n.ms)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      <h2>${t.queues}</h2>
      <table class="data-table" id="queues">
        <tbody>
          ${queue(t.awaitingProvider, q.awaitingProvider)} ${queue(t.undelivered, q.undelivered)}
          ${queue(t.keptAnswers, q.keptAnswers)} ${queue(t.providerNotices, q.providerNotices)}
          ${queue(t.residentNotices, q.residentNotices)} ${queue(t.portalNotices, q.portalNotices)}
        </tbody>
      </table>
      <h2>${fill(t.answerTimes, { m: at.windowMinutes })}</h2>
      <table class="data-table" id="answer-times">
        <tbody>
          <tr>
            <th>${t.answered}</th>
            <td class="num">${at.count}</td>
          </tr>
          <tr>
            <th>${t.median}</th>
            <td class="num">${ms(at.p50Ms)}</td>
          </tr>
          <tr>
            <th>p99</th>
            <td class="num">${ms(at.p99Ms)}</td>
          </tr>
          <tr>
            <th>${t.max}</th>
            <td class="num">${ms(at.maxMs)}</td>
          </tr>
        </tbody>
      </table>`;
    return reply.type('text/html; charset=utf-8').send(render(request, '稼働状況', 'Network health', body));
  });
};

const count = new Intl.NumberFormat('ja-JP');

/** A remark after a text in parentheses, as each language writes them: `名称（131016）`, `Name (131016)`. */
export function aside(lang: Lang, inner: Html | string | number): Html {
  return lang === 'en' ? html` (${inner})` : html`（${inner}）`;
}

/** A breakdown's rows as the seeds' tables: No, name, count (provisions), by count then key. */
function rankedTable(
  id: string,
  rows: readonly StatisticsRow[],
  heading: string,
  showKey: (r: StatisticsRow) => Html | string,
  t: OperatorWords,
): Html {
  const ranked = rows
    .filter((r) => r.total > 0)
    .toSorted((a, b) => b.provisions - a.provisions || a.key.localeCompare(b.key, 'en', { numeric: true }));
  return html`<table class="data-table" id="${id}">
    <thead>
      <tr>
        <th class="num">No</th>
        <th>${heading}</th>
        <th class="num">${t.provisions}</th>
        <th class="num">${t.notHeld}</th>
        <th class="num">${t.refused}</th>
        <th class="num">${t.failed}</th>
        <th class="num">${t.requests}</th>
      </tr>
    </thead>
    <tbody>
      ${ranked.map(
        (r, i) =>
          html`<tr data-key="${r.key}">
            <td class="num">${i + 1}</td>
            <td>${showKey(r)}</td>
            <td class="num" data-provisions="${r.provisions}">${count.format(r.provisions)}</td>
            <td class="num">${count.format(r.notHeld)}</td>
            <td class="num">${count.format(r.refused)}</td>
            <td class="num">${count.format(r.failed)}</td>
            <td class="num">${count.format(r.total)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** One labelled text field of a console form, its id its name. */
export function textField(
  name: string,
  label: string,
  value: string | undefined,
  options: { maxlength: number; required?: boolean },
): Html {
  return html`<div class="form-field">
    <label for="${name}">${label}</label>
    <input
      class="input"
      id="${name}"
      name="${name}"
      value="${value ?? ''}"
      ${options.required ? html`required` : null}
      maxlength="${String(options.maxlength)}"
    />
  </div>`;
}

/** A period's two date fields (JST days), as the operator's and the oversight commission's pages ask them. */
export function periodFields(
  p: { from?: string | undefined; to?: string | undefined },
  required: boolean,
  lang: Lang,
): Html {
  const t = pick(OPERATOR_MESSAGES, lang);
  return html`<div class="form-field">
      <label for="from">${t.from}</label>
      <input
        class="input"
        type="date"
        id="from"
        name="from"
        value="${p.from ?? ''}"
        ${required ? html`required` : null}
      />
    </div>
    <div class="form-field">
      <label for="to">${t.to}</label>
      <input
        class="input"
        type="date"
        id="to"
        name="to"
        value="${p.to ?? ''}"
        ${required ? html`required` : null}
      />
    </div>`;
}

/** A form that asks for a period alone and shows the page for it. */
export function periodForm(
  action: string,
  p: { from: string; to: string },
  className: string,
  lang: Lang,
): Html {
  return html`<form method="get" action="${action}" class="${className}">
    ${periodFields(p, true, lang)}
    <button class="button" type="submit">${OPERATOR_MESSAGES.show[lang]}</button>
  </form>`;
}

/**
 * A statistics row's name in the page's language: the service names rows in Japanese (as the CSV and
 * the API give them); in English, the legal table's English names by the row's key, and the kinds'.
 */
function statisticsName(by: string, row: StatisticsRow, lang: Lang, table: LegalTable): string | null {
  if (lang === 'ja' || row.name === null) return row.name;
  switch (by) {
    case 'procedure':
      return table.findProcedure(row.key)?.nameEn ?? row.name;
    case 'item':
      return table.findItem(Number(row.key))?.nameEn ?? row.name;
    case 'clause':
      return table.findClause(row.key)?.businessEn ?? row.name;
    case 'requester-kind':
    case 'provider-kind':
      return institutionKindName(row.key, 'en') ?? row.name;
    default:
      return row.name;
  }
}

function statisticsBody(
  statistics: Statistics,
  p: { from: string; to: string },
  base: string,
  lang: Lang,
  table: LegalTable,
): Html {
  const t = pick(OPERATOR_MESSAGES, lang);
  const rows = (by: string) =>
    (statistics.breakdowns.find((b) => b.by === by)?.rows ?? []).map((r) => ({
      ...r,
      name: statisticsName(by, r, lang, table),
    }));
  const weeks = rows('week').map((w) => ({ key: w.key, label: w.key.slice(5), provisions: w.provisions }));
  const o = statistics.byOutcome;
  const csv = `${base}/statistics.csv?from=${p.from}&to=${p.to}`;
  const unknown = (r: StatisticsRow) => r.name ?? t.unknown;
  // The statistics carry the kind's Japanese name (their stable form); the page names it in its language.
  const kindName = (r: StatisticsRow) => institutionKindName(r.key, lang) ?? r.name ?? r.key;
  return html` ${periodForm(`${base}/statistics`, p, 'period', lang)}
    <p class="lead">
      ${fill(t.summary, { from: dateIn(lang, p.from), to: dateIn(lang, p.to) })}
      <strong id="provisions">${count.format(statistics.provisions)}</strong>
      ${fill(t.summaryRest, {
        total: count.format(statistics.total),
        notHeld: count.format(o.not_held ?? 0),
        refused: count.format(o.refused ?? 0),
        failed: count.format(o.failed ?? 0),
      })}
    </p>
    <p><a class="button button--secondary" href="${csv}" id="csv">${t.csv}</a></p>
    <h2>${t.perWeek}</h2>
    <div class="chart">
      <canvas
        id="weekly"
        role="img"
        aria-label="${t.perWeekChart}"
        data-weeks="${JSON.stringify(weeks)}"
      ></canvas>
    </div>
    <h2>${t.byProcedure}</h2>
    ${rankedTable('by-procedure', rows('procedure'), t.procedureName, (r) => html`${unknown(r)}${aside(lang, r.key)}`, t)}
    <h2>${t.byItem}</h2>
    ${rankedTable('by-item', rows('item'), t.itemName, (r) => (lang === 'en' ? `${unknown(r)} [${r.key}]` : `${unknown(r)}［${r.key}］`), t)}
    <h2>${t.byRequesterKind}</h2>
    ${rankedTable('by-requester-kind', rows('requester-kind'), t.kind, kindName, t)}
    <h2>${t.byProviderKind}</h2>
    ${rankedTable('by-provider-kind', rows('provider-kind'), t.kind, kindName, t)}`;
}

const items = (itemNos: readonly number[]) => itemNos.map((n) => `[${n}]`).join(' ');
/** A clause's requester or provider: its kinds by name in the page's language, then named institutions. */
const selectorText = (s: { kinds: readonly string[]; institutions: readonly string[] }, lang: Lang) =>
  [...s.kinds.map((k) => institutionKindName(k, lang) ?? k), ...s.institutions].join(
    lang === 'en' ? ', ' : '、',
  );

function loadedNotice(loaded: 'stored' | 'unchanged', t: OperatorWords): Html {
  return html`<p class="notice notice--success" role="status" id="loaded" data-loaded="${loaded}">
    ${t[loaded]}
  </p>`;
}

function legalBody(
  versions: ReturnType<LegalVersionService['list']>,
  table: LegalTable,
  base: string,
  lang: Lang,
): Html {
  const t = pick(OPERATOR_MESSAGES, lang);
  const inForce = versions.find((v) => v.status === 'in_force');
  return html` <h2>${t.versions}</h2>
    <p><a class="button button--secondary" href="${base}/legal/load" id="load-link">${t.loadVersion}</a></p>
    <table class="data-table" id="versions">
      <thead>
        <tr>
          <th>${t.effectiveFrom}</th>
          <th>${t.state}</th>
          <th>${t.digest}</th>
          <th>${t.loadedBy}</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        ${versions.map(
          (v) =>
            html`<tr>
              <td>${v.effectiveFrom ? dateIn(lang, v.effectiveFrom) : '—'}</td>
              <td>${t[v.status]}</td>
              <td>
                <a href="${base}/legal?version=${v.digest}"><code>${v.digest.slice(0, 16)}</code></a>
              </td>
              <td>${v.loadedBy}</td>
              <td>
                ${inForce && inForce.digest !== v.digest ? html`<a href="${base}/legal/diff?from=${inForce.digest}&to=${v.digest}">${t.diffWithInForce}</a>` : ''}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    <p class="hint">${t.shownVersion} <code>${table.digest.slice(0, 16)}</code></p>
    <h2>${t.clauses}</h2>
    <table class="data-table" id="clauses">
      <thead>
        <tr>
          <th>${t.clause}</th>
          <th>${t.business}</th>
          <th>${t.requester}</th>
          <th>${t.providerItems}</th>
          <th>${t.inForce}</th>
        </tr>
      </thead>
      <tbody>
        ${table.clauses
          .toSorted((a, b) => a.clauseNo.localeCompare(b.clauseNo, 'en', { numeric: true }))
          .map(
            (c) =>
              html`<tr>
                <td>${c.clauseNo}</td>
                <td>${lang === 'en' ? html`${c.businessEn} (${c.lawEn})` : c.business}</td>
                <td>${selectorText(c.requester, lang)}</td>
                <td>
                  ${c.provisions.map((p) => html`<div>${selectorText(p.provider, lang)} → ${items(p.itemNos)}</div>`)}
                </td>
                <td>${fill(t.span, { from: c.effectiveFrom, to: c.effectiveTo ?? '' })}</td>
              </tr>`,
          )}
      </tbody>
    </table>
    <h2>${t.procedures}</h2>
    <table class="data-table" id="procedures">
      <thead>
        <tr>
          <th>ID</th>
          <th>${t.procedureName}</th>
          <th>${t.appliedTo}</th>
          <th>${t.items}</th>
          <th>${t.attachmentsOmitted}</th>
        </tr>
      </thead>
      <tbody>
        ${table.procedures
          .toSorted((a, b) => a.procedureId.localeCompare(b.procedureId))
          .map(
            (p) =>
              html`<tr>
                <td>${p.procedureId}</td>
                <td>${lang === 'en' ? p.nameEn : p.name}</td>
                <td>${lang === 'en' ? p.appliedToEn : p.appliedTo}</td>
                <td>${items(p.itemNos)}</td>
                <td>
                  ${p.attachmentsOmitted.map(
                    (a) => html`<div>${lang === 'en' ? a.nameEn : a.name} ← ${items(a.itemNos)}</div>`,
                  )}
                </td>
              </tr>`,
          )}
      </tbody>
    </table>
    <h2>${t.itemsAndLayouts}</h2>
    ${table.items.map(
      (item) =>
        html`<details>
          <summary>
            ${lang === 'en' ? `[${item.itemNo}] ${item.nameEn}` : `［${item.itemNo}］${item.name}`}${aside(lang, fill(t.layoutCount, { n: item.layouts.length }))}
          </summary>
          ${item.layouts.map(
            (l) =>
              html`<h3>
                  ${fill(t.layoutVersion, { v: l.version })}(${fill(t.span, { from: l.effectiveFrom, to: l.effectiveTo ?? '' })})
                </h3>
                <table class="data-table">
                  <thead>
                    <tr>
                      <th>${t.field}</th>
                      <th>${t.name}</th>
                      <th>${t.type}</th>
                      <th>${t.required}</th>
                      <th>${t.constraints}</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${l.fields.map(
                      (f) =>
                        html`<tr>
                          <td>${lang === 'en' ? f.labelEn : f.label}</td>
                          <td><code>${f.name}</code></td>
                          <td>${f.type}</td>
                          <td>${f.required ? t.required : t.optional}</td>
                          <td>
                            ${[f.maxLength === undefined ? '' : fill(t.maxLength, { n: f.maxLength }), f.min === undefined ? '' : `≥${f.min}`, f.max === undefined ? '' : `≤${f.max}`, f.values?.join('/') ?? ''].filter(Boolean).join(' ')}
                          </td>
                        </tr>`,
                    )}
                  </tbody>
                </table>`,
          )}
        </details>`,
    )}`;
}

function diffBody(diff: LegalTableDiff, lang: Lang): Html {
  return html`<p class="lead">
      <code>${diff.from.slice(0, 16)}</code> → <code>${diff.to.slice(0, 16)}</code>
    </p>
    <pre id="diff">${formatLegalTableDiff(diff, LEGAL_DIFF_WORDS[lang])}</pre>`;
}
