/**
 * The pages of the APIs for other services: the consent page (同意画面) a resident sees when a
 * service asks for their information, and 連携サービス, where they see which service was given what,
 * when, and withdraw a consent. Nothing personal on them.
 */
import type { LegalTable } from '../../../domain/legal-table/types.ts';
import { html, page, type Html } from '../../../shared/web/html.ts';
import { pick, type Lang, type MessageTable } from '../../../shared/web/lang.ts';
import type { ApiGrant, ApiRelease } from '../api-store.ts';
import { APPLICATION_SCOPE, itemsOfScopes } from '../api/authorization-server.ts';
import { dateIn, dateTimeIn } from './dates.ts';
import { chrome, fill, headerActions, type View } from './pages.ts';

export const API_PAGES_TEXT = {
  itemFallback: { ja: '特定個人情報 {n}', en: 'Item {n}' },
  applicationScope: {
    ja: 'あなたに代わって、ぴったりサービスの手続を申請すること（申請書には、あなたがカードで署名します）',
    en: 'Submit applications to the online service on your behalf (you sign each one with your card)',
  },
  consentTitle: { ja: '情報の提供への同意', en: 'Consent' },
  asks: {
    ja: '{client} が、次の情報の提供を求めています。',
    en: '{client} asks for the following information about you.',
  },
  toGive: { ja: '提供する情報', en: 'Information to be given' },
  fetchedEachTime: {
    ja: '情報は、行政機関からその都度取得して、このサービスに渡します。マイナンバー（個人番号）は渡しません。',
    en: 'The portal fetches the information from the institutions each time and gives it to this service. Your Individual Number is never given.',
  },
  offline: {
    ja: 'このサービスは、あなたがこのページを離れた後も、同意の期間が終わるか、あなたが取り消すまで、情報を取得できます。',
    en: 'This service keeps access after you leave, until the period ends or you withdraw your consent.',
  },
  period: { ja: '同意の期間', en: 'Period' },
  until: {
    ja: '{day}まで。「連携サービス」のページで、いつでも取り消せます。',
    en: 'Until {day}. You can withdraw it at any time on the “Connected services” page.',
  },
  allow: { ja: '同意する', en: 'I agree' },
  deny: { ja: '同意しない', en: 'I do not agree' },
  given: { ja: '同意した日時', en: 'Given' },
  withdrawn: { ja: '取り消し済み', en: 'Withdrawn' },
  validUntil: { ja: '有効期限', en: 'Until' },
  withdraw: { ja: 'この連携を取り消す', en: 'Withdraw this consent' },
  expired: { ja: '期限切れ', en: 'Expired' },
  connectedTitle: { ja: '連携サービス', en: 'Connected services' },
  revoked: {
    ja: '連携を取り消しました。このサービスは、もうあなたの情報を受け取れません。',
    en: 'The consent is withdrawn: this service can no longer receive your information.',
  },
  connectedLead: {
    ja: 'あなたが情報の提供に同意したサービスと、実際に渡した情報の記録です。',
    en: 'The services you consented to, and every time your information was given to one.',
  },
  consents: { ja: '同意したサービス', en: 'Consents' },
  noneYet: { ja: 'まだありません。', en: 'None yet.' },
  releases: { ja: '提供の記録', en: 'What was given' },
  when: { ja: '日時', en: 'When' },
  to: { ja: '提供先', en: 'To' },
  information: { ja: '情報', en: 'Information' },
  from: { ja: '情報の出どころ', en: 'From' },
  backHome: { ja: 'ホームに戻る', en: 'Back to home' },
} satisfies MessageTable;

function itemName(legal: LegalTable, n: number, lang: Lang): string {
  const item = legal.findItem(n);
  return (lang === 'en' ? item?.nameEn : item?.name) ?? fill(API_PAGES_TEXT.itemFallback[lang], { n });
}

/** A scope in words: the item's name from the legal table, or what `application` lets a service do. */
function scopeNames(scopes: readonly string[], legal: LegalTable, lang: Lang): string[] {
  const names = itemsOfScopes(scopes).map((n) => itemName(legal, n, lang));
  if (scopes.includes(APPLICATION_SCOPE)) names.push(API_PAGES_TEXT.applicationScope[lang]);
  return names;
}

export function consentPage(
  view: View,
  args: {
    csrfToken: string;
    unread: number;
    uid: string;
    clientName: string;
    scopes: readonly string[];
    /** The service asks for `offline_access`: it keeps access while the resident is not there. */
    offline: boolean;
    legal: LegalTable;
    until: Date;
  },
): string {
  const { lang } = view;
  const t = pick(API_PAGES_TEXT, lang);
  const [before, after] = t.asks.split('{client}');
  return page({
    ...chrome(view),
    title: t.consentTitle,
    headerAction: headerActions(lang, args.csrfToken, args.unread),
    body: html`<p class="lead">
        ${before}<strong data-testid="consent-client">${args.clientName}</strong>${after}
      </p>
      <h2>${t.toGive}</h2>
      <ul data-testid="consent-items">
        ${scopeNames(args.scopes, args.legal, lang).map((name) => html`<li>${name}</li>`)}
      </ul>
      <p>${t.fetchedEachTime}</p>
      <h2>${t.period}</h2>
      <p data-testid="consent-period">
        ${fill(t.until, { day: dateIn(lang, args.until.toISOString().slice(0, 10)) })}
      </p>
      ${args.offline ? html`<p data-testid="consent-offline">${t.offline}</p>` : ''}
      <div class="button-row">
        <form method="post" action="/oidc-interaction/${args.uid}/consent">
          <input type="hidden" name="_csrf" value="${args.csrfToken}" />
          <input type="hidden" name="decision" value="allow" />
          <button class="button" type="submit" data-testid="consent-allow">${t.allow}</button>
        </form>
        <form method="post" action="/oidc-interaction/${args.uid}/consent">
          <input type="hidden" name="_csrf" value="${args.csrfToken}" />
          <input type="hidden" name="decision" value="deny" />
          <button class="button button--secondary" type="submit" data-testid="consent-deny">${t.deny}</button>
        </form>
      </div>`,
  });
}

function grantRow(
  lang: Lang,
  grant: ApiGrant,
  clientName: string,
  legal: LegalTable,
  csrfToken: string,
  now: Date,
): Html {
  const t = pick(API_PAGES_TEXT, lang);
  const live = grant.revokedAt === undefined && grant.expiresAt > now;
  return html`<li class="connected" data-grant="${grant.grantId}" data-live="${live ? 'true' : 'false'}">
    <h3>${clientName}</h3>
    <ul>
      ${scopeNames(grant.scopes, legal, lang).map((name) => html`<li>${name}</li>`)}
    </ul>
    <p class="hint">
      ${t.given}:
      <time datetime="${grant.grantedAt.toISOString()}">${dateTimeIn(lang, grant.grantedAt)}</time>
    </p>
    ${
      grant.revokedAt
        ? html`<p class="hint" data-testid="grant-revoked">
            ${t.withdrawn}:
            <time datetime="${grant.revokedAt.toISOString()}">${dateTimeIn(lang, grant.revokedAt)}</time>
          </p>`
        : live
          ? html`<p class="hint">
                ${t.validUntil}: ${dateIn(lang, grant.expiresAt.toISOString().slice(0, 10))}
              </p>
              <form method="post" action="/connected-services/revoke">
                <input type="hidden" name="_csrf" value="${csrfToken}" />
                <input type="hidden" name="grant" value="${grant.grantId}" />
                <button class="button button--secondary" type="submit" data-testid="revoke">
                  ${t.withdraw}
                </button>
              </form>`
          : html`<p class="hint">${t.expired}</p>`
    }
  </li>`;
}

export function connectedServicesPage(
  view: View,
  args: {
    csrfToken: string;
    unread: number;
    grants: readonly ApiGrant[];
    releases: readonly ApiRelease[];
    clientName: (clientId: string) => string;
    providerName: (providerId: string) => string;
    legal: LegalTable;
    now: Date;
    revoked?: boolean;
  },
): string {
  const { legal } = args;
  const { lang } = view;
  const t = pick(API_PAGES_TEXT, lang);
  const names = (itemNos: readonly number[]) =>
    itemNos.map((n) => itemName(legal, n, lang)).join(lang === 'en' ? ', ' : '、');
  return page({
    ...chrome(view),
    title: t.connectedTitle,
    headerAction: headerActions(lang, args.csrfToken, args.unread),
    body: html`${
        args.revoked
          ? html`<p class="notice notice--success" role="status" data-testid="revoked-notice">
              ${t.revoked}
            </p>`
          : ''
      }
      <p class="lead">${t.connectedLead}</p>
      <h2>${t.consents}</h2>
      ${
        args.grants.length === 0
          ? html`<p class="hint">${t.noneYet}</p>`
          : html`<ul class="connected-list" data-testid="grants">
              ${args.grants.map((g) =>
                grantRow(lang, g, args.clientName(g.clientId), legal, args.csrfToken, args.now),
              )}
            </ul>`
      }
      <h2>${t.releases}</h2>
      ${
        args.releases.length === 0
          ? html`<p class="hint">${t.noneYet}</p>`
          : html`<table class="data-table" data-testid="releases">
              <thead>
                <tr>
                  <th scope="col">${t.when}</th>
                  <th scope="col">${t.to}</th>
                  <th scope="col">${t.information}</th>
                  <th scope="col">${t.from}</th>
                </tr>
              </thead>
              <tbody>
                ${args.releases.map(
                  (r) =>
                    html`<tr data-release="${r.releaseId}">
                      <td>
                        <time datetime="${r.releasedAt.toISOString()}"
                          >${dateTimeIn(lang, r.releasedAt)}</time
                        >
                      </td>
                      <td>${args.clientName(r.clientId)}</td>
                      <td>${names(r.itemNos)}</td>
                      <td>${args.providerName(r.providerId)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
      <p>
        <a href="/">${t.backHome}</a>
      </p>`,
  });
}
