/**
 * ぴったりサービス's pages: the finder, the application form, the page that sends the resident to the
 * card reader to sign, the receipt and 申請履歴. 添付不要 marks the attachments the network makes
 * unnecessary, which the form never asks for (the attachments' names are the legal table's, data).
 */
import { html, page, type Html } from '../../../shared/web/html.ts';
import { pick, type Lang, type MessageTable } from '../../../shared/web/lang.ts';
import type { ApplicationRow } from '../application-store.ts';
import type { FormErrors } from '../service/applications.ts';
import type { FinderQuery, FinderResult, FormField, LifeEvent, Municipality } from '../service/finder.ts';
import { dateTimeIn } from './dates.ts';
import { chrome, fill, headerActions, type View } from './pages.ts';

export const SERVICES_TEXT = {
  title: { ja: 'ぴったりサービス', en: 'Find services and apply' },
  unnecessary: { ja: '{name} 添付不要', en: '{name}: no need to attach' },
  lead: {
    ja: 'お住まいの市区町村の手続を探して、オンラインで申請できます。',
    en: 'Find your municipality’s procedures and apply online.',
  },
  lifeEvent: { ja: 'ライフイベント', en: 'Life event' },
  all: { ja: 'すべて', en: 'All' },
  municipality: { ja: '市区町村', en: 'Municipality' },
  keyword: { ja: 'キーワード', en: 'Keyword' },
  search: { ja: '探す', en: 'Search' },
  count: { ja: '{n}件の手続', en: '{n} procedures' },
  noResults: {
    ja: '条件に合う手続はありません。条件を減らしてお試しください。',
    en: 'No procedure matches. Try fewer criteria.',
  },
  apply: { ja: '申請する', en: 'Apply' },
  choose: { ja: '選んでください', en: 'Choose' },
  required: { ja: '必須', en: 'Required' },
  to: { ja: '申請先', en: 'To' },
  checkFields: { ja: '入力内容を確認してください。', en: 'Please check what you entered.' },
  omitted: {
    ja: '次の書類は添付不要です。市区町村が情報連携で確認します。',
    en: 'You need not attach these: the municipality checks them through the network.',
  },
  signNext: {
    ja: '次に、カードリーダーで署名用電子証明書のパスワード（英数字6〜16文字）を入力して署名します。',
    en: 'Next, you sign at the card reader with your signing password (6–16 letters and digits).',
  },
  continue: { ja: '確認して署名へ進む', en: 'Continue to signing' },
  signTitle: { ja: '電子署名', en: 'Sign the application' },
  signLead: {
    ja: '{municipality}への「{procedure}」に、マイナンバーカードで署名します。',
    en: 'Sign “{procedure}” to {municipality} with your Individual Number Card.',
  },
  passwordOnlyAtReader: {
    ja: 'パスワードはカードリーダーにだけ入力します。5回続けて間違えると署名用電子証明書がロックされます。',
    en: 'Type the password only at the card reader. Five wrong tries lock the signing certificate.',
  },
  signAtReader: { ja: 'カードリーダーで署名する', en: 'Sign at the card reader' },
  signWithin: { ja: 'この申請の署名の有効期限は10分です。', en: 'Sign within 10 minutes.' },
  receivedTitle: { ja: '申請を受け付けました', en: 'Application received' },
  received: {
    ja: '{municipality}への「{procedure}」を、電子署名付きで受け付けました。',
    en: 'Your signed application “{procedure}” to {municipality} was received.',
  },
  applicationNumber: { ja: '申請番号', en: 'Application number' },
  receivedAt: { ja: '受付日時', en: 'Received' },
  giveNumber: {
    ja: 'お問い合わせの際は申請番号をお伝えください。',
    en: 'Give the application number when you contact the municipality.',
  },
  myApplications: { ja: '申請履歴を見る', en: 'My applications' },
  back: { ja: 'ぴったりサービスに戻る', en: 'Back to the finder' },
  historyTitle: { ja: '申請履歴', en: 'My applications' },
  historyLead: {
    ja: 'ぴったりサービスで申請した手続と、その状況です。',
    en: 'The procedures you applied for online, and where they are.',
  },
  none: { ja: 'まだ申請はありません。', en: 'You have not applied for anything yet.' },
  sent: { ja: '申請日時', en: 'Sent' },
  number: { ja: '申請番号', en: 'Number' },
  status: { ja: '状況', en: 'Status' },
  waiting: {
    ja: '受付済み（市区町村の受け取り待ち）',
    en: 'Received; waiting for the municipality to take it',
  },
  taken: { ja: '市区町村が受け取りました', en: 'Taken by the municipality' },
  find: { ja: '手続を探す', en: 'Find a procedure' },
} satisfies MessageTable;

const named = (lang: Lang, x: { name: string; nameEn: string }) => (lang === 'en' ? x.nameEn : x.name);

function unnecessary(
  lang: Lang,
  procedure: { attachmentsOmitted: readonly string[]; attachmentsOmittedEn: readonly string[] },
): Html {
  const attachments = lang === 'en' ? procedure.attachmentsOmittedEn : procedure.attachmentsOmitted;
  if (attachments.length === 0) return html``;
  return html`<p class="hint" data-testid="unnecessary">
    ${attachments.map(
      (a) =>
        html`<span class="tag tag--unnecessary">${fill(SERVICES_TEXT.unnecessary[lang], { name: a })}</span>`,
    )}
  </p>`;
}

export function finderPage(
  view: View,
  args: {
    csrfToken: string;
    unread: number;
    lifeEvents: readonly LifeEvent[];
    municipalities: readonly Municipality[];
    query: FinderQuery;
    results: readonly FinderResult[];
  },
): string {
  const { query } = args;
  const { lang } = view;
  const t = pick(SERVICES_TEXT, lang);
  return page({
    ...chrome(view),
    title: t.title,
    headerAction: headerActions(lang, args.csrfToken, args.unread),
    body: html`<p class="lead">${t.lead}</p>
      <form class="finder" method="get" action="/services" role="search">
        <div class="form-field">
          <label for="event">${t.lifeEvent}</label>
          <select class="input" id="event" name="event">
            <option value="">${t.all}</option>
            ${args.lifeEvents.map(
              (e) =>
                html`<option value="${e.id}" ${query.lifeEvent === e.id ? html`selected` : ''}>
                  ${named(lang, e)}
                </option>`,
            )}
          </select>
        </div>
        <div class="form-field">
          <label for="municipality">${t.municipality}</label>
          <select class="input" id="municipality" name="municipality">
            <option value="">${t.all}</option>
            ${args.municipalities.map(
              (m) =>
                html`<option value="${m.id}" ${query.municipalityId === m.id ? html`selected` : ''}>
                  ${named(lang, m)}
                </option>`,
            )}
          </select>
        </div>
        <div class="form-field">
          <label for="q">${t.keyword}</label>
          <input class="input" id="q" name="q" type="search" maxlength="100" value="${query.keyword ?? ''}" />
        </div>
        <div class="form-field">
          <button class="button" type="submit">${t.search}</button>
        </div>
      </form>
      <h2>${fill(t.count, { n: args.results.length })}</h2>
      ${
        args.results.length === 0
          ? html`<p class="hint">${t.noResults}</p>`
          : html`<ul class="results" data-testid="results">
              ${args.results.map(
                (r) =>
                  html`<li
                    class="result"
                    data-procedure="${r.procedure.id}"
                    data-municipality="${r.municipality.id}"
                  >
                    <div class="result__name">${named(lang, r.procedure)}</div>
                    <div>${named(lang, r.municipality)}</div>
                    ${unnecessary(lang, r.procedure)}
                    <a
                      class="button button--secondary"
                      href="/services/${r.municipality.id}/${r.procedure.id}/apply"
                      data-testid="apply-link"
                      >${t.apply}</a
                    >
                  </li>`,
              )}
            </ul>`
      }`,
  });
}

function input(
  lang: Lang,
  field: FormField,
  value: string | undefined,
  error: FormErrors[string] | undefined,
): Html {
  const t = pick(SERVICES_TEXT, lang);
  const id = `f-${field.name}`;
  const described = error ? `${id}-error` : undefined;
  const common = html`id="${id}" name="${field.name}" ${field.required ? html`required` : ''}
  ${described ? html`aria-invalid="true" aria-describedby="${described}"` : ''}`;
  let control: Html;
  switch (field.type) {
    case 'textarea':
      control = html`<textarea class="input" rows="4" maxlength="${field.maxLength ?? 1000}" ${common}>
${value ?? ''}</textarea>`;
      break;
    case 'select':
      control = html`<select class="input" ${common}>
        <option value="">${t.choose}</option>
        ${(field.options ?? []).map(
          // The value sent stays the Japanese choice the municipality reads; its English is shown.
          (o, i) =>
            html`<option value="${o}" ${value === o ? html`selected` : ''}>
              ${lang === 'en' ? (field.optionsEn?.[i] ?? o) : o}
            </option>`,
        )}
      </select>`;
      break;
    case 'date':
      control = html`<input class="input" type="date" value="${value ?? ''}" ${common} />`;
      break;
    case 'integer':
      control = html`<input
        class="input"
        type="number"
        inputmode="numeric"
        min="${field.min ?? 0}"
        max="${field.max ?? 999999999}"
        value="${value ?? ''}"
        ${common}
      />`;
      break;
    case 'text':
      control = html`<input
        class="input"
        type="text"
        maxlength="${field.maxLength ?? 200}"
        value="${value ?? ''}"
        ${common}
      />`;
      break;
  }
  return html`<div class="form-field">
    <label for="${id}"
      >${lang === 'en' ? field.labelEn : field.label}${
        field.required ? html` <span class="badge">${t.required}</span>` : ''
      }</label
    >
    ${field.hint ? html`<p class="hint">${lang === 'en' ? (field.hintEn ?? field.hint) : field.hint}</p>` : ''}
    ${error ? html`<p class="field-error" id="${described}">${error[lang]}</p>` : ''} ${control}
  </div>`;
}

export function applyPage(
  view: View,
  args: {
    csrfToken: string;
    unread: number;
    found: FinderResult;
    given?: Record<string, string | undefined>;
    errors?: FormErrors;
  },
): string {
  const { found } = args;
  const { lang } = view;
  const t = pick(SERVICES_TEXT, lang);
  const action = `/services/${found.municipality.id}/${found.procedure.id}/apply`;
  return page({
    ...chrome(view),
    title: named(lang, found.procedure),
    headerAction: headerActions(lang, args.csrfToken, args.unread),
    body: html`<p>
        ${t.to}:
        <strong data-testid="apply-municipality">${named(lang, found.municipality)}</strong>
      </p>
      ${args.errors ? html`<div class="notice notice--error" role="alert">${t.checkFields}</div>` : ''}
      ${
        found.procedure.attachmentsOmitted.length > 0
          ? html`<div class="notice notice--success" data-testid="attachments-omitted">
              <p>${t.omitted}</p>
              ${unnecessary(lang, found.procedure)}
            </div>`
          : ''
      }
      <form method="post" action="${action}" novalidate>
        <input type="hidden" name="_csrf" value="${args.csrfToken}" />
        ${found.procedure.form.map((f) => input(lang, f, args.given?.[f.name], args.errors?.[f.name]))}
        <p class="hint">${t.signNext}</p>
        <button class="button" type="submit">${t.continue}</button>
      </form>`,
  });
}

export function signRequestPage(
  view: View,
  args: {
    csrfToken: string;
    unread: number;
    readerLink: string;
    procedureName: string;
    municipalityName: string;
    lines: readonly { label: string; value: string }[];
  },
): string {
  const t = pick(SERVICES_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.signTitle,
    headerAction: headerActions(view.lang, args.csrfToken, args.unread),
    body: html`<p class="lead">
        ${fill(t.signLead, { municipality: args.municipalityName, procedure: args.procedureName })}
      </p>
      <dl class="summary">
        ${args.lines.map(
          (l) =>
            html`<dt>${l.label}</dt>
              <dd>${l.value}</dd>`,
        )}
      </dl>
      <p class="notice">${t.passwordOnlyAtReader}</p>
      <p>
        <a class="button" href="${args.readerLink}" data-testid="sign-link">${t.signAtReader}</a>
      </p>
      <p class="hint">${t.signWithin}</p>`,
  });
}

export function receivedPage(
  view: View,
  args: { csrfToken: string; unread: number; application: ApplicationRow; municipalityName: string },
): string {
  const { application } = args;
  const t = pick(SERVICES_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.receivedTitle,
    headerAction: headerActions(view.lang, args.csrfToken, args.unread),
    body: html`<p class="notice notice--success" role="status">
        ${fill(t.received, { municipality: args.municipalityName, procedure: application.procedureName })}
      </p>
      <dl class="summary">
        <dt>${t.applicationNumber}</dt>
        <dd data-testid="application-number">${application.applicationNumber}</dd>
        <dt>${t.receivedAt}</dt>
        <dd>${dateTimeIn(view.lang, application.receivedAt)}</dd>
      </dl>
      <p>${t.giveNumber}</p>
      <p>
        <a class="button" href="/services/applications" data-testid="my-applications-link"
          >${t.myApplications}</a
        >
        <a class="button button--secondary" href="/services">${t.back}</a>
      </p>`,
  });
}

/** One of the resident's applications, as their list shows it. */
export interface MyApplication {
  applicationNumber: string;
  procedureName: string;
  municipalityName: string;
  receivedAt: Date;
  /** When the municipality's systems first downloaded it (申請データダウンロード); undefined before. */
  downloadedAt: Date | undefined;
}

/**
 * 申請履歴: what the resident applied for, to whom, when, and where it is: 受付済み (the portal holds it
 * for the municipality) or 市区町村が受け取りました (the municipality's systems downloaded it).
 */
export function myApplicationsPage(
  view: View,
  args: { csrfToken: string; unread: number; applications: readonly MyApplication[] },
): string {
  const { lang } = view;
  const t = pick(SERVICES_TEXT, lang);
  return page({
    ...chrome(view),
    title: t.historyTitle,
    headerAction: headerActions(lang, args.csrfToken, args.unread),
    body: html`<p class="lead">${t.historyLead}</p>
      ${
        args.applications.length === 0
          ? html`<p class="hint" data-testid="no-applications">${t.none}</p>`
          : html`<ul class="results" data-testid="my-applications">
              ${args.applications.map(
                (a) =>
                  html`<li class="result" data-application="${a.applicationNumber}">
                    <div class="result__name">${a.procedureName}</div>
                    <dl class="exchange__details">
                      <dt>${t.to}</dt>
                      <dd>${a.municipalityName}</dd>
                      <dt>${t.sent}</dt>
                      <dd>${dateTimeIn(lang, a.receivedAt)}</dd>
                      <dt>${t.number}</dt>
                      <dd>${a.applicationNumber}</dd>
                      <dt>${t.status}</dt>
                      <dd data-testid="application-status">
                        ${
                          a.downloadedAt === undefined
                            ? html`<span class="outcome" data-state="received">${t.waiting}</span>`
                            : html`<span class="outcome outcome--ok" data-state="downloaded">${t.taken}</span
                                ><br /><span class="hint">${dateTimeIn(lang, a.downloadedAt)}</span>`
                        }
                      </dd>
                    </dl>
                  </li>`,
              )}
            </ul>`
      }
      <p>
        <a class="button button--secondary" href="/services">${t.find}</a>
      </p>`,
  });
}
