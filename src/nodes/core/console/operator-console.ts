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
import { formatLegalTableDiff, type LegalTableDiff } from '../../../domain/legal-table/diff.ts';
import type { LegalTable } from '../../../domain/legal-table/types.ts';
import { StatisticsDay, type Statistics, type StatisticsRow } from '../../../protocol/admin.ts';
import { statisticsCsv } from '../../../protocol/statistics-csv.ts';
import { jstDate } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import { parseInput } from '../../../shared/http.ts';
import { html, page, type Html } from '../../../shared/web/html.ts';
import { japaneseDate, japaneseDateTime } from '../../../shared/web/dates.ts';
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

  const nav = html`<nav aria-label="コンソール">
    <ul class="console-nav">
      <li>
        <a href="${base}/statistics">統計 <span lang="en">Statistics</span></a>
      </li>
      <li>
        <a href="${base}/legal">別表第二・レイアウト <span lang="en">Legal table</span></a>
      </li>
      <li>
        <a href="${base}/health">稼働状況 <span lang="en">Health</span></a>
      </li>
    </ul>
  </nav>`;
  const render = (request: FastifyRequest, title: string, titleEn: string, body: Html, scripts?: string[]) =>
    options.render
      ? options.render(request, { title, titleEn, body, ...(scripts ? { scripts } : {}) })
      : page({ title, service, body: html`${nav}${body}`, ...(scripts ? { scripts } : {}) });

  /** The period asked for, by default the last 12 weeks to today (JST). */
  function period(query: unknown): { from: string; to: string } {
    const asked = parseInput(Period, query, 'period (from, to)');
    const to = asked.to ?? jstDate(now());
    const from = asked.from ?? jstDate(new Date(Date.parse(`${to}T00:00:00Z`) - 83 * 86_400_000));
    if (from > to)
      throw new RenkeiError(
        'ERR_VALIDATION',
        '開始日は終了日以前にしてください。 (from must be on or before to)',
      );
    return { from, to };
  }

  app.get('/statistics-chart.js', (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(chart),
  );

  app.get('/statistics.csv', async (request, reply) => {
    const statistics = await options.records.statistics(period(request.query));
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="renkei-statistics.csv"')
      .send(statisticsCsv(statistics));
  });

  app.get('/statistics', async (request, reply) => {
    const p = period(request.query);
    const statistics = await options.records.statistics(p);
    return reply
      .type('text/html; charset=utf-8')
      .send(
        render(request, '統計', 'Statistics', statisticsBody(statistics, p, base), [
          `${base}/statistics-chart.js`,
        ]),
      );
  });

  app.get('/legal', async (request, reply) => {
    const { version, loaded } = parseInput(LegalQuery, request.query, 'version');
    const versions = options.legalVersions.list();
    const shown = version === undefined ? undefined : options.legalVersions.get(version);
    const table = shown?.table ?? options.legalVersions.tableOn(now());
    return reply
      .type('text/html; charset=utf-8')
      .send(
        render(
          request,
          '別表第二・データ標準レイアウト',
          'Legal table and layouts',
          html`${loaded ? loadedNotice(loaded) : null}${legalBody(versions, table, base)}`,
        ),
      );
  });

  app.get('/legal/diff', async (request, reply) => {
    const { from, to } = parseInput(DiffQuery, request.query, 'versions to compare (from, to)');
    const diff = options.legalVersions.diff(from, to);
    return reply
      .type('text/html; charset=utf-8')
      .send(render(request, '版の差分', 'Differences between versions', diffBody(diff)));
  });

  app.get('/health', async (request, reply) => {
    const health = await options.health.check();
    const q = health.queues;
    const t = health.answerTimes;
    const ms = (v: number | null) => (v === null ? '—' : `${v} ms`);
    const body = html` <p class="lead">確認時刻 ${japaneseDateTime(new Date(health.checkedAt))}</p>
      <h2>ノード <span lang="en">Nodes</span></h2>
      <table class="data-table" id="nodes">
        <thead>
          <tr>
            <th>機関</th>
            <th>種別</th>
            <th>状態</th>
            <th class="num">応答</th>
          </tr>
        </thead>
        <tbody>
          ${health.nodes.map(
            (n) =>
              html`<tr data-node="${n.id}">
                <td>${n.name}（${n.id}）</td>
                <td>${n.kind}</td>
                <td class="${n.up ? '' : 'status--down'}">
                  ${n.up ? '稼働中 up' : `停止 down (${n.error ?? ''})`}
                </td>
                <td class="num">${ms(n.ms)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      <h2>待ち行列 <span lang="en">Queues</span></h2>
      <table class="data-table" id="queues">
        <tbody>
          <tr>
            <th>提供者の回答待ちの照会 <span lang="en">awaiting the provider</span></th>
            <td class="num">${q.awaitingProvider}</td>
          </tr>
          <tr>
            <th>照会者へ未配信の回答 <span lang="en">answers undelivered</span></th>
            <td class="num">${q.undelivered}</td>
          </tr>
          <tr>
            <th>保管中の暗号化回答 <span lang="en">sealed answers kept</span></th>
            <td class="num">${q.keptAnswers}</td>
          </tr>
          <tr>
            <th>提供者への失敗通知 <span lang="en">failure notices to providers</span></th>
            <td class="num">${q.providerNotices}</td>
          </tr>
          <tr>
            <th>異動の通知 <span lang="en">notices of change</span></th>
            <td class="num">${q.residentNotices}</td>
          </tr>
          <tr>
            <th>マイナポータルへのお知らせ <span lang="en">portal notices</span></th>
            <td class="num">${q.portalNotices}</td>
          </tr>
        </tbody>
      </table>
      <h2>
        回答時間（直近${t.windowMinutes}分）
        <span lang="en">Answer times, last ${t.windowMinutes} minutes</span>
      </h2>
      <table class="data-table" id="answer-times">
        <tbody>
          <tr>
            <th>件数 <span lang="en">answered</span></th>
            <td class="num">${t.count}</td>
          </tr>
          <tr>
            <th>中央値 p50</th>
            <td class="num">${ms(t.p50Ms)}</td>
          </tr>
          <tr>
            <th>p99</th>
            <td class="num">${ms(t.p99Ms)}</td>
          </tr>
          <tr>
            <th>最大 <span lang="en">max</span></th>
            <td class="num">${ms(t.maxMs)}</td>
          </tr>
        </tbody>
      </table>`;
    return reply.type('text/html; charset=utf-8').send(render(request, '稼働状況', 'Network health', body));
  });
};

const count = new Intl.NumberFormat('ja-JP');

/** A breakdown's rows as the seeds' tables: No, name, count (provisions), by count then key. */
function rankedTable(
  id: string,
  rows: readonly StatisticsRow[],
  heading: string,
  showKey: (r: StatisticsRow) => string,
): Html {
  const ranked = rows
    .filter((r) => r.total > 0)
    .toSorted((a, b) => b.provisions - a.provisions || a.key.localeCompare(b.key, 'en', { numeric: true }));
  return html`<table class="data-table" id="${id}">
    <thead>
      <tr>
        <th class="num">No</th>
        <th>${heading}</th>
        <th class="num">提供件数</th>
        <th class="num">不保持</th>
        <th class="num">拒否</th>
        <th class="num">失敗</th>
        <th class="num">照会件数</th>
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

/** A period's two date fields (JST days), as the operator's and the oversight commission's pages ask them. */
export function periodFields(
  p: { from?: string | undefined; to?: string | undefined },
  required: boolean,
): Html {
  return html`<div class="form-field">
      <label for="from">開始日 <span lang="en">From</span></label>
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
      <label for="to">終了日 <span lang="en">To</span></label>
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
export function periodForm(action: string, p: { from: string; to: string }, className: string): Html {
  return html`<form method="get" action="${action}" class="${className}">
    ${periodFields(p, true)}
    <button class="button" type="submit">表示 <span lang="en">Show</span></button>
  </form>`;
}

function statisticsBody(statistics: Statistics, p: { from: string; to: string }, base: string): Html {
  const rows = (by: string) => statistics.breakdowns.find((b) => b.by === by)?.rows ?? [];
  const weeks = rows('week').map((w) => ({ key: w.key, label: w.key.slice(5), provisions: w.provisions }));
  const o = statistics.byOutcome;
  const csv = `${base}/statistics.csv?from=${p.from}&to=${p.to}`;
  return html` ${periodForm(`${base}/statistics`, p, 'period')}
    <p class="lead">
      ${japaneseDate(p.from)}〜${japaneseDate(p.to)}（日本時間）の情報提供件数は
      <strong id="provisions">${count.format(statistics.provisions)}</strong>件 （照会
      ${count.format(statistics.total)}件、不保持 ${count.format(o.not_held ?? 0)}件、拒否
      ${count.format(o.refused ?? 0)}件、失敗 ${count.format(o.failed ?? 0)}件）。
    </p>
    <p>
      <a class="button button--secondary" href="${csv}" id="csv"
        >CSVで保存 <span lang="en">Export CSV</span></a
      >
    </p>
    <h2>週あたり提供件数 <span lang="en">Provisions per week (Mon–Sun, JST)</span></h2>
    <div class="chart">
      <canvas
        id="weekly"
        role="img"
        aria-label="週あたり提供件数の棒グラフ"
        data-weeks="${JSON.stringify(weeks)}"
      ></canvas>
    </div>
    <h2>情報照会している主な事務手続及び件数 <span lang="en">By procedure</span></h2>
    ${rankedTable('by-procedure', rows('procedure'), '手続名', (r) => `${r.name ?? '（不明）'}（${r.key}）`)}
    <h2>情報提供されている主な特定個人情報及び件数 <span lang="en">By item</span></h2>
    ${rankedTable('by-item', rows('item'), '特定個人情報［特定個人情報番号］', (r) => `${r.name ?? '（不明）'}［${r.key}］`)}
    <h2>照会機関の種別 <span lang="en">By requester kind</span></h2>
    ${rankedTable('by-requester-kind', rows('requester-kind'), '種別', (r) => r.name ?? r.key)}
    <h2>提供機関の種別 <span lang="en">By provider kind</span></h2>
    ${rankedTable('by-provider-kind', rows('provider-kind'), '種別', (r) => r.name ?? r.key)}`;
}

const STATUS = { in_force: '施行中', scheduled: '施行予定', superseded: '旧版' } as const;
const items = (itemNos: readonly number[]) => itemNos.map((n) => `[${n}]`).join(' ');
const selectorText = (s: { kinds: readonly string[]; institutions: readonly string[] }) =>
  [...s.kinds, ...s.institutions].join(', ');

function loadedNotice(loaded: 'stored' | 'unchanged'): Html {
  return html`<p class="notice notice--success" role="status" id="loaded" data-loaded="${loaded}">
    ${loaded === 'stored' ? '新しい版を保存しました。' : 'この版はその施行日で既に保存されています。'}
  </p>`;
}

function legalBody(versions: ReturnType<LegalVersionService['list']>, table: LegalTable, base: string): Html {
  const inForce = versions.find((v) => v.status === 'in_force');
  return html` <h2>版 <span lang="en">Versions</span></h2>
    <p>
      <a class="button button--secondary" href="${base}/legal/load" id="load-link"
        >新しい版を読み込む <span lang="en">Load a version</span></a
      >
    </p>
    <table class="data-table" id="versions">
      <thead>
        <tr>
          <th>施行日</th>
          <th>状態</th>
          <th>ダイジェスト</th>
          <th>読込</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        ${versions.map(
          (v) =>
            html`<tr>
              <td>${v.effectiveFrom ? japaneseDate(v.effectiveFrom) : '—'}</td>
              <td>${STATUS[v.status]}</td>
              <td>
                <a href="${base}/legal?version=${v.digest}"><code>${v.digest.slice(0, 16)}</code></a>
              </td>
              <td>${v.loadedBy}</td>
              <td>
                ${inForce && inForce.digest !== v.digest ? html`<a href="${base}/legal/diff?from=${inForce.digest}&to=${v.digest}">施行中の版との差分</a>` : ''}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    <p class="hint">表示中の版 <code>${table.digest.slice(0, 16)}</code></p>
    <h2>項 <span lang="en">Clauses</span></h2>
    <table class="data-table" id="clauses">
      <thead>
        <tr>
          <th>項</th>
          <th>事務</th>
          <th>情報照会者</th>
          <th>情報提供者と特定個人情報</th>
          <th>施行</th>
        </tr>
      </thead>
      <tbody>
        ${table.clauses
          .toSorted((a, b) => a.clauseNo.localeCompare(b.clauseNo, 'en', { numeric: true }))
          .map(
            (c) =>
              html`<tr>
                <td>${c.clauseNo}</td>
                <td>${c.business}</td>
                <td>${selectorText(c.requester)}</td>
                <td>
                  ${c.provisions.map((p) => html`<div>${selectorText(p.provider)} → ${items(p.itemNos)}</div>`)}
                </td>
                <td>${c.effectiveFrom}${c.effectiveTo ? `〜${c.effectiveTo}` : '〜'}</td>
              </tr>`,
          )}
      </tbody>
    </table>
    <h2>事務手続 <span lang="en">Procedures</span></h2>
    <table class="data-table" id="procedures">
      <thead>
        <tr>
          <th>ID</th>
          <th>手続名</th>
          <th>申請先</th>
          <th>特定個人情報</th>
          <th>省略できる添付書類</th>
        </tr>
      </thead>
      <tbody>
        ${table.procedures
          .toSorted((a, b) => a.procedureId.localeCompare(b.procedureId))
          .map(
            (p) =>
              html`<tr>
                <td>${p.procedureId}</td>
                <td>${p.name}</td>
                <td>${p.appliedTo}</td>
                <td>${items(p.itemNos)}</td>
                <td>${p.attachmentsOmitted.map((a) => html`<div>${a.name} ← ${items(a.itemNos)}</div>`)}</td>
              </tr>`,
          )}
      </tbody>
    </table>
    <h2>特定個人情報とデータ標準レイアウト <span lang="en">Items and layouts</span></h2>
    ${table.items.map(
      (item) =>
        html`<details>
          <summary>［${item.itemNo}］${item.name}（${item.layouts.length}版）</summary>
          ${item.layouts.map(
            (l) =>
              html`<h3>版 ${l.version}（${l.effectiveFrom}〜${l.effectiveTo ?? ''}）</h3>
                <table class="data-table">
                  <thead>
                    <tr>
                      <th>項目</th>
                      <th>名前</th>
                      <th>型</th>
                      <th>必須</th>
                      <th>制約</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${l.fields.map(
                      (f) =>
                        html`<tr>
                          <td>${f.label}</td>
                          <td><code>${f.name}</code></td>
                          <td>${f.type}</td>
                          <td>${f.required ? '必須' : '任意'}</td>
                          <td>
                            ${[f.maxLength === undefined ? '' : `最大${f.maxLength}文字`, f.min === undefined ? '' : `≥${f.min}`, f.max === undefined ? '' : `≤${f.max}`, f.values?.join('/') ?? ''].filter(Boolean).join(' ')}
                          </td>
                        </tr>`,
                    )}
                  </tbody>
                </table>`,
          )}
        </details>`,
    )}`;
}

function diffBody(diff: LegalTableDiff): Html {
  return html`<p class="lead">
      <code>${diff.from.slice(0, 16)}</code> → <code>${diff.to.slice(0, 16)}</code>
    </p>
    <pre id="diff">${formatLegalTableDiff(diff)}</pre>`;
}
