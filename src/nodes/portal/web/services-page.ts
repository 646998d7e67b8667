/**
 * ぴったりサービス's pages: the finder, the application form, the page that sends the resident to the
 * card reader to sign, and the receipt. Japanese first; 添付不要 marks the attachments the network
 * makes unnecessary, which the form never asks for.
 */
import { html, page, type Html } from '../../../shared/web/html.ts';
import type { ApplicationRow } from '../application-store.ts';
import type { FormErrors } from '../service/applications.ts';
import type { FinderQuery, FinderResult, FormField, LifeEvent, Municipality } from '../service/finder.ts';
import { japaneseDateTime } from './dates.ts';
import { SERVICE, headerActions } from './pages.ts';

function unnecessary(attachments: readonly string[]): Html {
  if (attachments.length === 0) return html``;
  return html`<p class="hint" data-testid="unnecessary">
    ${attachments.map((a) => html`<span class="tag tag--unnecessary">${a} 添付不要</span>`)}
  </p>`;
}

export function finderPage(args: {
  csrfToken: string;
  unread: number;
  lifeEvents: readonly LifeEvent[];
  municipalities: readonly Municipality[];
  query: FinderQuery;
  results: readonly FinderResult[];
}): string {
  const { query } = args;
  return page({
    title: 'ぴったりサービス',
    titleEn: 'Find services and apply',
    service: SERVICE,
    headerAction: headerActions(args.csrfToken, args.unread),
    body: html`<p class="lead">
        お住まいの市区町村の手続を探して、オンラインで申請できます。
        <span class="en" lang="en">Find your municipality’s procedures and apply online.</span>
      </p>
      <form class="finder" method="get" action="/services" role="search">
        <div class="form-field">
          <label for="event">ライフイベント <span class="en" lang="en">Life event</span></label>
          <select class="input" id="event" name="event">
            <option value="">すべて All</option>
            ${args.lifeEvents.map(
              (e) =>
                html`<option value="${e.id}" ${query.lifeEvent === e.id ? html`selected` : ''}>
                  ${e.name} ${e.nameEn}
                </option>`,
            )}
          </select>
        </div>
        <div class="form-field">
          <label for="municipality">市区町村 <span class="en" lang="en">Municipality</span></label>
          <select class="input" id="municipality" name="municipality">
            <option value="">すべて All</option>
            ${args.municipalities.map(
              (m) =>
                html`<option value="${m.id}" ${query.municipalityId === m.id ? html`selected` : ''}>
                  ${m.name} ${m.nameEn}
                </option>`,
            )}
          </select>
        </div>
        <div class="form-field">
          <label for="q">キーワード <span class="en" lang="en">Keyword</span></label>
          <input class="input" id="q" name="q" type="search" maxlength="100" value="${query.keyword ?? ''}" />
        </div>
        <div class="form-field">
          <button class="button" type="submit">探す <span lang="en">Search</span></button>
        </div>
      </form>
      <h2>
        ${args.results.length}件の手続 <span class="en" lang="en">${args.results.length} procedures</span>
      </h2>
      ${
        args.results.length === 0
          ? html`<p class="hint">
              条件に合う手続はありません。条件を減らしてお試しください。<span lang="en"
                >No procedure matches. Try fewer criteria.</span
              >
            </p>`
          : html`<ul class="results" data-testid="results">
              ${args.results.map(
                (r) =>
                  html`<li
                    class="result"
                    data-procedure="${r.procedure.id}"
                    data-municipality="${r.municipality.id}"
                  >
                    <div class="result__name">${r.procedure.name}</div>
                    <div class="en" lang="en">${r.procedure.nameEn}</div>
                    <div>
                      ${r.municipality.name} <span class="en" lang="en">${r.municipality.nameEn}</span>
                    </div>
                    ${unnecessary(r.procedure.attachmentsOmitted)}
                    <a
                      class="button button--secondary"
                      href="/services/${r.municipality.id}/${r.procedure.id}/apply"
                      data-testid="apply-link"
                      >申請する <span lang="en">Apply</span></a
                    >
                  </li>`,
              )}
            </ul>`
      }`,
  });
}

function input(field: FormField, value: string | undefined, error: FormErrors[string] | undefined): Html {
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
        <option value="">選んでください Choose</option>
        ${(field.options ?? []).map(
          (o) => html`<option value="${o}" ${value === o ? html`selected` : ''}>${o}</option>`,
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
      >${field.label}${field.required ? html` <span class="badge">必須</span>` : ''}
      <span class="en" lang="en">${field.labelEn}</span></label
    >
    ${field.hint ? html`<p class="hint">${field.hint}</p>` : ''}
    ${
      error
        ? html`<p class="field-error" id="${described}">${error.ja} <span lang="en">${error.en}</span></p>`
        : ''
    }
    ${control}
  </div>`;
}

export function applyPage(args: {
  csrfToken: string;
  unread: number;
  found: FinderResult;
  given?: Record<string, string | undefined>;
  errors?: FormErrors;
}): string {
  const { found } = args;
  const action = `/services/${found.municipality.id}/${found.procedure.id}/apply`;
  return page({
    title: found.procedure.name,
    titleEn: found.procedure.nameEn,
    service: SERVICE,
    headerAction: headerActions(args.csrfToken, args.unread),
    body: html`<p>
        申請先 <span lang="en">To</span>:
        <strong data-testid="apply-municipality">${found.municipality.name}</strong>
      </p>
      ${
        args.errors
          ? html`<div class="notice notice--error" role="alert">
              入力内容を確認してください。<span class="en" lang="en">Please check what you entered.</span>
            </div>`
          : ''
      }
      ${
        found.procedure.attachmentsOmitted.length > 0
          ? html`<div class="notice notice--success" data-testid="attachments-omitted">
              <p>
                次の書類は添付不要です。市区町村が情報連携で確認します。<br /><span class="en" lang="en"
                  >You need not attach these: the municipality checks them through the network.</span
                >
              </p>
              ${unnecessary(found.procedure.attachmentsOmitted)}
            </div>`
          : ''
      }
      <form method="post" action="${action}" novalidate>
        <input type="hidden" name="_csrf" value="${args.csrfToken}" />
        ${found.procedure.form.map((f) => input(f, args.given?.[f.name], args.errors?.[f.name]))}
        <p class="hint">
          次に、カードリーダーで署名用電子証明書のパスワード（英数字6〜16文字）を入力して署名します。<span
            class="en"
            lang="en"
            >Next, you sign at the card reader with your signing password (6–16 letters and digits).</span
          >
        </p>
        <button class="button" type="submit">
          確認して署名へ進む <span lang="en">Continue to signing</span>
        </button>
      </form>`,
  });
}

export function signRequestPage(args: {
  csrfToken: string;
  unread: number;
  readerLink: string;
  procedureName: string;
  municipalityName: string;
  lines: readonly { label: string; value: string }[];
}): string {
  return page({
    title: '電子署名',
    titleEn: 'Sign the application',
    service: SERVICE,
    headerAction: headerActions(args.csrfToken, args.unread),
    body: html`<p class="lead">
        ${args.municipalityName}への「${args.procedureName}」に、マイナンバーカードで署名します。
        <span class="en" lang="en">Sign the application with your Individual Number Card.</span>
      </p>
      <dl class="summary">
        ${args.lines.map(
          (l) =>
            html`<dt>${l.label}</dt>
              <dd>${l.value}</dd>`,
        )}
      </dl>
      <p class="notice">
        パスワードはカードリーダーにだけ入力します。5回続けて間違えると署名用電子証明書がロックされます。<br /><span
          class="en"
          lang="en"
          >Type the password only at the card reader. Five wrong tries lock the signing certificate.</span
        >
      </p>
      <p>
        <a class="button" href="${args.readerLink}" data-testid="sign-link"
          >カードリーダーで署名する <span lang="en">Sign at the card reader</span></a
        >
      </p>
      <p class="hint">この申請の署名の有効期限は10分です。<span lang="en">Sign within 10 minutes.</span></p>`,
  });
}

export function receivedPage(args: {
  csrfToken: string;
  unread: number;
  application: ApplicationRow;
  municipalityName: string;
}): string {
  const { application } = args;
  return page({
    title: '申請を受け付けました',
    titleEn: 'Application received',
    service: SERVICE,
    headerAction: headerActions(args.csrfToken, args.unread),
    body: html`<p class="notice notice--success" role="status">
        ${args.municipalityName}への「${application.procedureName}」を、電子署名付きで受け付けました。<br /><span
          class="en"
          lang="en"
          >Your signed application was received.</span
        >
      </p>
      <dl class="summary">
        <dt>申請番号 <span lang="en">Application number</span></dt>
        <dd data-testid="application-number">${application.applicationNumber}</dd>
        <dt>受付日時 <span lang="en">Received</span></dt>
        <dd>${japaneseDateTime(application.receivedAt)}</dd>
      </dl>
      <p>
        お問い合わせの際は申請番号をお伝えください。<span class="en" lang="en"
          >Give the application number when you contact the municipality.</span
        >
      </p>
      <p>
        <a class="button" href="/services/applications" data-testid="my-applications-link"
          >申請履歴を見る <span lang="en">My applications</span></a
        >
        <a class="button button--secondary" href="/services"
          >ぴったりサービスに戻る <span lang="en">Back</span></a
        >
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
export function myApplicationsPage(args: {
  csrfToken: string;
  unread: number;
  applications: readonly MyApplication[];
}): string {
  return page({
    title: '申請履歴',
    titleEn: 'My applications',
    service: SERVICE,
    headerAction: headerActions(args.csrfToken, args.unread),
    body: html`<p class="lead">
        ぴったりサービスで申請した手続と、その状況です。<span class="en" lang="en"
          >The procedures you applied for online, and where they are.</span
        >
      </p>
      ${
        args.applications.length === 0
          ? html`<p class="hint" data-testid="no-applications">
              まだ申請はありません。<span lang="en">You have not applied for anything yet.</span>
            </p>`
          : html`<ul class="results" data-testid="my-applications">
              ${args.applications.map(
                (a) =>
                  html`<li class="result" data-application="${a.applicationNumber}">
                    <div class="result__name">${a.procedureName}</div>
                    <dl class="exchange__details">
                      <dt>申請先 <span lang="en">To</span></dt>
                      <dd>${a.municipalityName}</dd>
                      <dt>申請日時 <span lang="en">Sent</span></dt>
                      <dd>${japaneseDateTime(a.receivedAt)}</dd>
                      <dt>申請番号 <span lang="en">Number</span></dt>
                      <dd>${a.applicationNumber}</dd>
                      <dt>状況 <span lang="en">Status</span></dt>
                      <dd data-testid="application-status">
                        ${
                          a.downloadedAt === undefined
                            ? html`<span class="outcome" data-state="received"
                                >受付済み（市区町村の受け取り待ち）
                                <span class="en" lang="en"
                                  >Received; waiting for the municipality to take it</span
                                ></span
                              >`
                            : html`<span class="outcome outcome--ok" data-state="downloaded"
                                  >市区町村が受け取りました
                                  <span class="en" lang="en">Taken by the municipality</span></span
                                ><br /><span class="hint">${japaneseDateTime(a.downloadedAt)}</span>`
                        }
                      </dd>
                    </dl>
                  </li>`,
              )}
            </ul>`
      }
      <p>
        <a class="button button--secondary" href="/services"
          >手続を探す <span lang="en">Find a procedure</span></a
        >
      </p>`,
  });
}
