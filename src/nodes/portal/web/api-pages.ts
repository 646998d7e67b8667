/**
 * The pages of the APIs for other services: the consent page (同意画面) a resident sees when a
 * service asks for their information, and 連携サービス, where they see which service was given what,
 * when, and withdraw a consent. Japanese first, the English beside it; nothing personal on them.
 */
import type { LegalTable } from '../../../domain/legal-table/types.ts';
import { html, page, type Html } from '../../../shared/web/html.ts';
import type { ApiGrant, ApiRelease } from '../api-store.ts';
import { APPLICATION_SCOPE, itemsOfScopes } from '../api/authorization-server.ts';
import { japaneseDate, japaneseDateTime } from './dates.ts';
import { headerActions, SERVICE } from './pages.ts';

/** A scope in words: the item's name from the legal table, or what `application` lets a service do. */
function scopeNames(scopes: readonly string[], legal: LegalTable): { ja: string; en: string }[] {
  const names = itemsOfScopes(scopes).map((n) => {
    const item = legal.findItem(n);
    return { ja: item?.name ?? `特定個人情報 ${n}`, en: item?.nameEn ?? `item ${n}` };
  });
  if (scopes.includes(APPLICATION_SCOPE)) {
    names.push({
      ja: 'あなたに代わって、ぴったりサービスの手続を申請すること（申請書には、あなたがカードで署名します）',
      en: 'Submit applications to ぴったりサービス on your behalf (you sign each one with your card)',
    });
  }
  return names;
}

export function consentPage(args: {
  csrfToken: string;
  unread: number;
  uid: string;
  clientName: string;
  scopes: readonly string[];
  /** The service asks for `offline_access`: it keeps access while the resident is not there. */
  offline: boolean;
  legal: LegalTable;
  until: Date;
}): string {
  const items = scopeNames(args.scopes, args.legal);
  return page({
    title: '情報の提供への同意',
    titleEn: 'Consent',
    service: SERVICE,
    headerAction: headerActions(args.csrfToken, args.unread),
    body: html`<p class="lead">
        <strong data-testid="consent-client">${args.clientName}</strong>
        が、次の情報の提供を求めています。<br /><span class="en" lang="en"
          >${args.clientName} asks for the following information about you.</span
        >
      </p>
      <h2>提供する情報 <span class="en" lang="en">Information to be given</span></h2>
      <ul data-testid="consent-items">
        ${items.map((i) => html`<li>${i.ja} <span class="en" lang="en">${i.en}</span></li>`)}
      </ul>
      <p>
        情報は、行政機関からその都度取得して、このサービスに渡します。マイナンバー（個人番号）は渡しません。<br /><span
          class="en"
          lang="en"
          >The portal fetches the information from the institutions each time and gives it to this service.
          Your Individual Number is never given.</span
        >
      </p>
      <h2>同意の期間 <span class="en" lang="en">Period</span></h2>
      <p data-testid="consent-period">
        ${japaneseDate(args.until.toISOString().slice(0, 10))}まで。「連携サービス」のページで、いつでも取り消せます。<br /><span
          class="en"
          lang="en"
          >Until ${args.until.toISOString().slice(0, 10)}. You can withdraw it at any time on the “Connected
          services” page.</span
        >
      </p>
      ${
        args.offline
          ? html`<p data-testid="consent-offline">
              このサービスは、あなたがこのページを離れた後も、同意の期間が終わるか、あなたが取り消すまで、情報を取得できます。<br /><span
                class="en"
                lang="en"
                >This service keeps access after you leave, until the period ends or you withdraw your
                consent.</span
              >
            </p>`
          : ''
      }
      <div class="button-row">
        <form method="post" action="/oidc-interaction/${args.uid}/consent">
          <input type="hidden" name="_csrf" value="${args.csrfToken}" />
          <input type="hidden" name="decision" value="allow" />
          <button class="button" type="submit" data-testid="consent-allow">
            同意する <span lang="en">I agree</span>
          </button>
        </form>
        <form method="post" action="/oidc-interaction/${args.uid}/consent">
          <input type="hidden" name="_csrf" value="${args.csrfToken}" />
          <input type="hidden" name="decision" value="deny" />
          <button class="button button--secondary" type="submit" data-testid="consent-deny">
            同意しない <span lang="en">I do not agree</span>
          </button>
        </form>
      </div>`,
  });
}

function grantRow(
  grant: ApiGrant,
  clientName: string,
  legal: LegalTable,
  csrfToken: string,
  now: Date,
): Html {
  const live = grant.revokedAt === undefined && grant.expiresAt > now;
  return html`<li class="connected" data-grant="${grant.grantId}" data-live="${live ? 'true' : 'false'}">
    <h3>${clientName}</h3>
    <ul>
      ${scopeNames(grant.scopes, legal).map((i) => html`<li>${i.ja} <span class="en" lang="en">${i.en}</span></li>`)}
    </ul>
    <p class="hint">
      同意した日時 <span lang="en">Given</span>:
      <time datetime="${grant.grantedAt.toISOString()}">${japaneseDateTime(grant.grantedAt)}</time>
    </p>
    ${
      grant.revokedAt
        ? html`<p class="hint" data-testid="grant-revoked">
            取り消し済み <span lang="en">Withdrawn</span>:
            <time datetime="${grant.revokedAt.toISOString()}">${japaneseDateTime(grant.revokedAt)}</time>
          </p>`
        : live
          ? html`<p class="hint">
                有効期限 <span lang="en">Until</span>:
                ${japaneseDate(grant.expiresAt.toISOString().slice(0, 10))}
              </p>
              <form method="post" action="/connected-services/revoke">
                <input type="hidden" name="_csrf" value="${csrfToken}" />
                <input type="hidden" name="grant" value="${grant.grantId}" />
                <button class="button button--secondary" type="submit" data-testid="revoke">
                  この連携を取り消す <span lang="en">Withdraw this consent</span>
                </button>
              </form>`
          : html`<p class="hint">期限切れ <span lang="en">Expired</span></p>`
    }
  </li>`;
}

export function connectedServicesPage(args: {
  csrfToken: string;
  unread: number;
  grants: readonly ApiGrant[];
  releases: readonly ApiRelease[];
  clientName: (clientId: string) => string;
  providerName: (providerId: string) => string;
  legal: LegalTable;
  now: Date;
  revoked?: boolean;
}): string {
  const { legal } = args;
  return page({
    title: '連携サービス',
    titleEn: 'Connected services',
    service: SERVICE,
    headerAction: headerActions(args.csrfToken, args.unread),
    body: html`${
        args.revoked
          ? html`<p class="notice notice--success" role="status" data-testid="revoked-notice">
              連携を取り消しました。このサービスは、もうあなたの情報を受け取れません。<br /><span
                class="en"
                lang="en"
                >The consent is withdrawn: this service can no longer receive your information.</span
              >
            </p>`
          : ''
      }
      <p class="lead">あなたが情報の提供に同意したサービスと、実際に渡した情報の記録です。</p>
      <p class="en" lang="en">
        The services you consented to, and every time your information was given to one.
      </p>
      <h2>同意したサービス <span class="en" lang="en">Consents</span></h2>
      ${
        args.grants.length === 0
          ? html`<p class="hint">まだありません。<span lang="en">None yet.</span></p>`
          : html`<ul class="connected-list" data-testid="grants">
              ${args.grants.map((g) => grantRow(g, args.clientName(g.clientId), legal, args.csrfToken, args.now))}
            </ul>`
      }
      <h2>提供の記録 <span class="en" lang="en">What was given</span></h2>
      ${
        args.releases.length === 0
          ? html`<p class="hint">まだありません。<span lang="en">None yet.</span></p>`
          : html`<table class="data-table" data-testid="releases">
              <thead>
                <tr>
                  <th scope="col">日時 <span lang="en">When</span></th>
                  <th scope="col">提供先 <span lang="en">To</span></th>
                  <th scope="col">情報 <span lang="en">Information</span></th>
                  <th scope="col">情報の出どころ <span lang="en">From</span></th>
                </tr>
              </thead>
              <tbody>
                ${args.releases.map(
                  (r) =>
                    html`<tr data-release="${r.releaseId}">
                      <td>
                        <time datetime="${r.releasedAt.toISOString()}"
                          >${japaneseDateTime(r.releasedAt)}</time
                        >
                      </td>
                      <td>${args.clientName(r.clientId)}</td>
                      <td>${r.itemNos.map((n) => legal.findItem(n)?.name ?? String(n)).join('、')}</td>
                      <td>${args.providerName(r.providerId)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
      <p>
        <a href="/">ホームに戻る <span lang="en">Back to home</span></a>
      </p>`,
  });
}
