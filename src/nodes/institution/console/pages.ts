/**
 * The clerk console's pages (窓口, 一括照会, 提供記録), server-rendered into the consoles' chrome,
 * Japanese first (the `lang` cookie switches to English: the console's own words, and the legal
 * table's and the directory's names, by their English names). Dates in 和暦 with the Western year
 * (Western dates in English).
 */
import { html, type Html } from '../../../shared/web/html.ts';
import { pick, type Lang } from '../../../shared/web/console/messages.ts';
import type {
  BulkInquiryStatus,
  BulkResultPage,
  InquiryStatus,
  InstitutionRecord,
} from '../../../protocol/business.ts';
import type { LegalTable, Procedure } from '../../../domain/legal-table/types.ts';
import type { AttachmentsVerdict } from '../../../domain/legal-table/attachments.ts';
import { dateTimeIn } from '../../../shared/web/dates.ts';
import { CLERK } from './messages.ts';

export interface ProviderChoice {
  id: string;
  name: string;
  nameEn: string;
}

export interface Directory {
  /** `name (id)` in the page's language, or the id when the directory does not know it. */
  nameOf(id: string | undefined, lang: Lang): string;
  /** Candidates to ask for an item under a procedure; empty when the node has no directory (type a code). */
  providersFor(procedure: Procedure, itemNo: number): ProviderChoice[];
}

const OUTCOME: Record<string, { ja: string; en: string }> = {
  pending: { ja: '回答待ち', en: 'Waiting' },
  provided: { ja: '提供あり', en: 'Provided' },
  not_held: { ja: '該当なし', en: 'Not held' },
  refused: { ja: '拒否', en: 'Refused' },
  failed: { ja: '失敗', en: 'Failed' },
};

export function outcomeLabel(outcome: string, lang: Lang): string {
  return OUTCOME[outcome]?.[lang] ?? outcome;
}

function itemName(legal: LegalTable, itemNo: number, lang: Lang): string {
  const item = legal.findItem(itemNo);
  return `[${itemNo}] ${(lang === 'en' ? item?.nameEn : item?.name) ?? ''}`;
}

/** A list's separator in the page's language. */
const sep = (lang: Lang) => (lang === 'en' ? ', ' : '、');

function procedureName(procedure: Procedure | undefined, lang: Lang): string {
  return (lang === 'en' ? procedure?.nameEn : procedure?.name) ?? '';
}

/** An omitted attachment's name in the page's language (the legal table's `nameEn` in English). */
function attachmentName(procedure: Procedure, name: string, lang: Lang): string {
  if (lang === 'ja') return name;
  return procedure.attachmentsOmitted.find((a) => a.name === name)?.nameEn ?? name;
}

function procedureOptions(
  procedures: readonly Procedure[],
  selected: string | undefined,
  lang: Lang,
): Html[] {
  return procedures.map(
    (p) =>
      html`<option value="${p.procedureId}" ${p.procedureId === selected ? html`selected` : null}>
        ${p.procedureId} ${procedureName(p, lang)}
      </option>`,
  );
}

function providerField(
  directory: Directory,
  procedure: Procedure,
  itemNo: number,
  lang: Lang,
  name: string,
): Html {
  const t = pick(CLERK, lang);
  const choices = directory.providersFor(procedure, itemNo);
  if (choices.length === 0) {
    return html`<input
      class="input"
      name="${name}"
      id="${name}"
      pattern="[a-z0-9-]{2,32}"
      placeholder="${t.providerCode}"
    />`;
  }
  return html`<select class="input" name="${name}" id="${name}" data-testid="${name}">
    <option value="">${t.noInquiry}</option>
    ${choices.map((c) => html`<option value="${c.id}">${lang === 'en' ? c.nameEn : c.name} (${c.id})</option>`)}
  </select>`;
}

export function intakeForm(args: {
  lang: Lang;
  legal: LegalTable;
  directory: Directory;
  procedures: readonly Procedure[];
  procedure: Procedure | undefined;
  addresseeNumber: string;
  csrfToken: string;
  error?: string | undefined;
}): Html {
  const t = pick(CLERK, args.lang);
  const { procedure } = args;
  const replacing = procedure ? [...new Set(procedure.attachmentsOmitted.flatMap((a) => a.itemNos))] : [];
  return html`${args.error ? html`<p class="notice notice--error" role="alert">${args.error}</p>` : null}
    <form method="get" action="/intake" class="search-form">
      <div class="form-field">
        <label for="procedureId">${t.procedure}</label>
        <select class="input" id="procedureId" name="procedureId" data-submit-on-change>
          <option value="">${t.choose}</option>
          ${procedureOptions(args.procedures, procedure?.procedureId, args.lang)}
        </select>
      </div>
      <div class="form-field">
        <label for="addresseeNumber-pick">${t.addresseeNumber}</label>
        <input
          class="input"
          id="addresseeNumber-pick"
          name="addresseeNumber"
          value="${args.addresseeNumber}"
        />
      </div>
      <button class="button button--secondary" type="submit">${t.show}</button>
    </form>
    ${
      procedure
        ? html`<section aria-labelledby="attachments-title" data-testid="attachments">
            <h2 id="attachments-title">
              ${
                args.lang === 'en'
                  ? html`${procedure.nameEn} <span class="en" lang="ja">${procedure.name}</span>`
                  : html`${procedure.name} <span class="en" lang="en">${procedure.nameEn}</span>`
              }
            </h2>
            <div class="attachments">
              <div>
                <h3>${t.omittable}</h3>
                <ul class="attachment-list">
                  ${procedure.attachmentsOmitted.map(
                    (a) =>
                      html`<li>
                        <span class="mark mark--unnecessary">${t.byNetwork}</span>${
                          args.lang === 'en' ? a.nameEn : a.name
                        }
                        <span class="hint"
                          >←
                          ${a.itemNos.map((n) => itemName(args.legal, n, args.lang)).join(sep(args.lang))}</span
                        >
                      </li>`,
                  )}
                </ul>
              </div>
              <div>
                <h3>${t.notOmittable}</h3>
                <p class="hint">${t.notOmittableText}</p>
                ${
                  procedure.itemNosWithoutAttachment.length > 0
                    ? html`<p class="hint">
                        ${t.withoutAttachment}:
                        ${procedure.itemNosWithoutAttachment
                          .map((n) => itemName(args.legal, n, args.lang))
                          .join(sep(args.lang))}
                      </p>`
                    : null
                }
              </div>
            </div>
            <form method="post" action="/intake">
              <input type="hidden" name="_csrf" value="${args.csrfToken}" />
              <input type="hidden" name="procedureId" value="${procedure.procedureId}" />
              <div class="form-field">
                <label for="addresseeNumber">${t.addresseeNumber}</label>
                <input
                  class="input"
                  id="addresseeNumber"
                  name="addresseeNumber"
                  required
                  value="${args.addresseeNumber}"
                />
              </div>
              <table class="data-table">
                <thead>
                  <tr>
                    <th scope="col">${t.item}</th>
                    <th scope="col">${t.replaces}</th>
                    <th scope="col">${t.provider}</th>
                  </tr>
                </thead>
                <tbody>
                  ${replacing.map(
                    (itemNo) =>
                      html`<tr>
                        <td>
                          <label for="provider-${itemNo}">${itemName(args.legal, itemNo, args.lang)}</label>
                        </td>
                        <td>
                          ${procedure.attachmentsOmitted
                            .filter((a) => a.itemNos.includes(itemNo))
                            .map((a) => (args.lang === 'en' ? a.nameEn : a.name))
                            .join(sep(args.lang))}
                        </td>
                        <td>
                          ${providerField(args.directory, procedure, itemNo, args.lang, `provider-${itemNo}`)}
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>
              <div class="actions"><button class="button" type="submit">${t.inquire}</button></div>
            </form>
          </section>`
        : html`<p class="hint">${t.pickProcedure}</p>`
    }`;
}

export interface IntakeView {
  intakeId: string;
  at: Date;
  addresseeNumber: string;
  procedure: Procedure;
  rows: {
    providerId: string;
    itemNos: number[];
    processingNumber: string | undefined;
    error: string | undefined;
    status: InquiryStatus | undefined;
  }[];
  verdict: AttachmentsVerdict;
  notAsked: string[];
  done: boolean;
  answered: number;
}

export function intakeSheet(
  view: IntakeView,
  args: { lang: Lang; legal: LegalTable; directory: Directory; clerk: string },
): Html {
  const t = pick(CLERK, args.lang);
  const { procedure } = view;
  return html`<div
    data-status-url="${view.done ? '' : `/intake/${view.intakeId}/status`}"
    data-testid="intake-sheet"
  >
    <dl class="sheet-meta">
      <dt>${t.receivedAt}</dt>
      <dd>${dateTimeIn(args.lang, view.at)}</dd>
      <dt>${t.procedure}</dt>
      <dd>${procedure.procedureId} ${procedureName(procedure, args.lang)}</dd>
      <dt>${t.addresseeNumber}</dt>
      <dd>${view.addresseeNumber}</dd>
      <dt>${t.clerk}</dt>
      <dd>${args.clerk}</dd>
    </dl>
    <p role="status" data-testid="progress">
      ${t.progress}: <span data-field="answered">${view.answered}</span> / ${view.rows.length}
      ${view.done ? html`— ${t.allAnswered}` : html`— ${t.waiting}`}
    </p>
    <h2>${t.attachments}</h2>
    <ul class="attachment-list" data-testid="verdict">
      ${view.verdict.unnecessary.map(
        (name) =>
          html`<li data-attachment="${name}" data-verdict="unnecessary">
            <span class="mark mark--unnecessary">${t.unnecessary}</span
            >${attachmentName(procedure, name, args.lang)}
          </li>`,
      )}
      ${view.verdict.stillNeeded.map(
        (name) =>
          html`<li data-attachment="${name}" data-verdict="${view.done ? 'needed' : 'pending'}">
            <span class="mark ${view.done ? 'mark--needed' : 'mark--pending'}"
              >${view.done ? t.needed : t.waiting}</span
            >${attachmentName(procedure, name, args.lang)}
          </li>`,
      )}
      ${view.notAsked.map(
        (name) =>
          html`<li data-attachment="${name}" data-verdict="not-asked">
            <span class="mark mark--needed">${t.needed}</span>${attachmentName(procedure, name, args.lang)}
            <span class="hint">(${t.notAsked})</span>
          </li>`,
      )}
    </ul>
    <h2>${t.inquiries}</h2>
    <table class="data-table">
      <thead>
        <tr>
          <th scope="col">${t.provider}</th>
          <th scope="col">${t.item}</th>
          <th scope="col">${t.processingNumber}</th>
          <th scope="col">${t.outcome}</th>
        </tr>
      </thead>
      <tbody>
        ${view.rows.map(
          (row) =>
            html`<tr>
              <td>${args.directory.nameOf(row.providerId, args.lang)}</td>
              <td>${row.itemNos.map((n) => itemName(args.legal, n, args.lang)).join(sep(args.lang))}</td>
              <td><code>${row.processingNumber ?? '—'}</code></td>
              <td data-testid="outcome">
                ${
                  row.error
                    ? html`${outcomeLabel('refused', args.lang)} (${row.error})`
                    : html`${outcomeLabel(row.status?.outcome ?? 'pending', args.lang)}${row.status?.reason ? html` (${row.status.reason})` : null}`
                }
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${view.rows.flatMap((row) =>
      (row.status?.items ?? []).map((item) => {
        const layout = args.legal
          .findItem(item.itemNo)
          ?.layouts.find((l) => l.version === item.layoutVersion);
        const label = (field: string) => {
          const f = layout?.fields.find((x) => x.name === field);
          return (args.lang === 'en' ? f?.labelEn : f?.label) ?? field;
        };
        return html`<section class="answer" data-testid="answer-${item.itemNo}">
          <h3>
            ${itemName(args.legal, item.itemNo, args.lang)}
            <span class="hint"
              >(${args.directory.nameOf(row.providerId, args.lang)} · ${t.layout} ${item.layoutVersion})</span
            >
          </h3>
          <table class="data-table">
            <tbody>
              ${Object.entries(item.data).map(
                ([field, value]) =>
                  html`<tr>
                    <th scope="row">${label(field)}</th>
                    <td>${typeof value === 'string' ? value : JSON.stringify(value)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </section>`;
      }),
    )}
    <div class="actions no-print">
      <button class="button" type="button" data-print hidden>${t.print}</button>
      <a class="button button--secondary" href="/intake">${t.nextIntake}</a>
    </div>
  </div>`;
}

export function bulkForm(args: {
  lang: Lang;
  legal: LegalTable;
  directory: Directory;
  procedures: readonly Procedure[];
  procedure: Procedure | undefined;
  csrfToken: string;
  error?: string | undefined;
}): Html {
  const t = pick(CLERK, args.lang);
  const { procedure } = args;
  return html`${args.error ? html`<p class="notice notice--error" role="alert">${args.error}</p>` : null}
    <p class="lead">${t.bulkLead}</p>
    <form method="get" action="/bulk" class="search-form">
      <div class="form-field">
        <label for="procedureId">${t.procedure}</label>
        <select class="input" id="procedureId" name="procedureId" data-submit-on-change>
          <option value="">${t.choose}</option>
          ${procedureOptions(args.procedures, procedure?.procedureId, args.lang)}
        </select>
      </div>
      <button class="button button--secondary" type="submit">${t.show}</button>
    </form>
    ${
      procedure
        ? html`<form method="post" action="/bulk">
            <input type="hidden" name="_csrf" value="${args.csrfToken}" />
            <input type="hidden" name="procedureId" value="${procedure.procedureId}" />
            <input type="hidden" name="format" id="format" value="csv" />
            <fieldset class="form-field">
              <legend>${t.item}</legend>
              ${procedure.itemNos.map(
                (itemNo) =>
                  html`<label class="choice"
                    ><input type="checkbox" name="item-${itemNo}" value="1" />
                    ${itemName(args.legal, itemNo, args.lang)}</label
                  >`,
              )}
            </fieldset>
            <div class="form-field">
              <label for="providerId">${t.provider}</label>
              ${providerField(args.directory, procedure, procedure.itemNos[0] ?? 0, args.lang, 'providerId')}
            </div>
            <div class="form-field">
              <label for="file">${t.file}</label>
              <input
                class="input"
                type="file"
                id="file"
                accept=".csv,.txt,.jsonl,.ndjson"
                data-into="lines"
                data-kind="format"
              />
            </div>
            <div class="form-field">
              <label for="lines">${t.lines}</label>
              <textarea class="input" id="lines" name="lines" rows="6"></textarea>
            </div>
            <button class="button" type="submit">${t.submitBulk}</button>
          </form>`
        : null
    }`;
}

export function bulkProgress(
  status: BulkInquiryStatus,
  args: { lang: Lang; legal: LegalTable; directory: Directory },
): Html {
  const t = pick(CLERK, args.lang);
  const procedure = args.legal.findProcedure(status.procedureId);
  const done = status.status === 'done';
  return html`<div data-status-url="${done ? '' : `/bulk/${status.bulkNumber}/status`}" data-testid="bulk">
    <dl class="sheet-meta">
      <dt>${t.bulkNumber}</dt>
      <dd><code>${status.bulkNumber}</code></dd>
      <dt>${t.procedure}</dt>
      <dd>${status.procedureId} ${procedureName(procedure, args.lang)}</dd>
      <dt>${t.provider}</dt>
      <dd>${args.directory.nameOf(status.providerId, args.lang)}</dd>
      <dt>${t.item}</dt>
      <dd>${status.itemNos.map((n) => itemName(args.legal, n, args.lang)).join(sep(args.lang))}</dd>
    </dl>
    <label for="bulk-progress"
      >${t.progress}: <span data-field="finished">${status.finished}</span> / ${status.total}</label
    >
    <progress
      id="bulk-progress"
      max="${status.total}"
      value="${status.finished}"
      data-field="finishedBar"
    ></progress>
    <p>
      ${Object.entries(status.outcomes).map(([o, n]) => html`<span class="outcome-count">${outcomeLabel(o, args.lang)} ${n}</span> `)}
    </p>
    ${
      done
        ? html`<div class="actions">
            <a class="button" href="/bulk/${status.bulkNumber}/results.csv" download>${t.downloadCsv}</a>
            <a class="button button--secondary" href="/bulk/${status.bulkNumber}/results.jsonl" download
              >${t.downloadJsonl}</a
            >
          </div>`
        : html`<p>${t.waiting}</p>`
    }
  </div>`;
}

export type BulkResults = BulkResultPage;

export interface RecordQuery {
  from: string;
  to: string;
  procedureId: string;
  outcome: string;
  processingNumber: string;
  page: number;
}

export function recordsPage(args: {
  lang: Lang;
  legal: LegalTable;
  directory: Directory;
  procedures: readonly Procedure[];
  query: RecordQuery;
  records: InstitutionRecord[];
  more: boolean;
  error?: string | undefined;
}): Html {
  const t = pick(CLERK, args.lang);
  const q = args.query;
  const link = (page: number) =>
    `/records?${new URLSearchParams({ from: q.from, to: q.to, procedureId: q.procedureId, outcome: q.outcome, processingNumber: q.processingNumber, page: String(page) }).toString()}`;
  return html`${args.error ? html`<p class="notice notice--error" role="alert">${args.error}</p>` : null}
    <form method="get" action="/records" class="search-form" role="search">
      <div class="form-field">
        <label for="from">${t.from}</label
        ><input class="input" type="date" id="from" name="from" value="${q.from}" />
      </div>
      <div class="form-field">
        <label for="to">${t.to}</label><input class="input" type="date" id="to" name="to" value="${q.to}" />
      </div>
      <div class="form-field">
        <label for="procedureId">${t.procedure}</label>
        <select class="input" id="procedureId" name="procedureId">
          <option value="">${t.all}</option>
          ${procedureOptions(args.procedures, q.procedureId, args.lang)}
        </select>
      </div>
      <div class="form-field">
        <label for="outcome">${t.outcome}</label>
        <select class="input" id="outcome" name="outcome">
          <option value="">${t.all}</option>
          ${Object.keys(OUTCOME).map(
            (o) =>
              html`<option value="${o}" ${o === q.outcome ? html`selected` : null}>
                ${outcomeLabel(o, args.lang)}
              </option>`,
          )}
        </select>
      </div>
      <div class="form-field">
        <label for="processingNumber">${t.processingNumber}</label>
        <input
          class="input"
          id="processingNumber"
          name="processingNumber"
          maxlength="36"
          size="38"
          value="${q.processingNumber}"
        />
      </div>
      <button class="button" type="submit">${t.search}</button>
    </form>
    <table class="data-table" data-testid="records">
      <thead>
        <tr>
          <th scope="col">${t.recordedAt}</th>
          <th scope="col">${t.role}</th>
          <th scope="col">${t.processingNumber}</th>
          <th scope="col">${t.procedure}</th>
          <th scope="col">${t.counterpart}</th>
          <th scope="col">${t.item}</th>
          <th scope="col">${t.outcome}</th>
          <th scope="col">${t.clerk}</th>
        </tr>
      </thead>
      <tbody>
        ${
          args.records.length === 0
            ? html`<tr>
                <td colspan="8">${t.noRecords}</td>
              </tr>`
            : args.records.map(
                (r) =>
                  html`<tr>
                    <td>${dateTimeIn(args.lang, new Date(r.recordedAt))}</td>
                    <td>${r.role === 'requester' ? t.asRequester : t.asProvider}</td>
                    <td><code>${r.processingNumber}</code></td>
                    <td>
                      ${r.procedureId ?? ''}
                      ${r.procedureId ? procedureName(args.legal.findProcedure(r.procedureId), args.lang) : ''}
                    </td>
                    <td>
                      ${args.directory.nameOf(r.role === 'requester' ? r.providerId : r.requesterId, args.lang)}
                    </td>
                    <td>
                      ${(r.itemNos ?? []).map((n) => itemName(args.legal, n, args.lang)).join(sep(args.lang))}
                    </td>
                    <td>${outcomeLabel(r.outcome, args.lang)}${r.reason ? html` (${r.reason})` : null}</td>
                    <td>${r.requestedBy ?? ''}</td>
                  </tr>`,
              )
        }
      </tbody>
    </table>
    <nav class="pager" aria-label="${t.pages}">
      ${q.page > 1 ? html`<a href="${link(q.page - 1)}">${t.previous}</a>` : null}
      ${args.more ? html`<a href="${link(q.page + 1)}">${t.next}</a>` : null}
    </nav>`;
}
