/**
 * The operator's institution registry (機関の登録簿), a Fastify plugin of the core's console, mounted
 * beside the operator's other pages under `/operator`:
 *
 *   GET  registry                  every institution: kind, network URL, key version and re-keying
 *                                  status, its identity certificate's status (from the network's CA index)
 *   POST registry                  add or update an institution (the admin API's PUT /admin/v1/institutions/:id)
 *   POST registry/:id/rotate-key   move its codes to the next key version (the admin API's rotate-key)
 *   POST registry/:id/suspend      suspend it (a reason required): the first POST shows what will happen
 *   POST registry/:id/reinstate    and asks to confirm; only the POST with `confirmed=yes` changes it
 *                                  (the admin API's suspensions and reinstatements)
 *
 * Each calls the registry service the admin API calls (service/registry.ts): no second copy of the
 * rules. Errors, on the console's error page: ERR_VALIDATION (a field; the message names it),
 * ERR_UNKNOWN_INSTITUTION (404), ERR_REKEY_PENDING (409: the institution has not re-keyed since the
 * last rotation). Every route runs `guard` first (the console's `requireRole('operator')` and its CSRF
 * check); without a guard the plugin does not register.
 */
import type { FastifyPluginAsync, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { z } from 'zod';
import { InstitutionParams, InstitutionRegistration } from '../../../protocol/admin.ts';
import { InstitutionId, InstitutionKind } from '../../../protocol/identifiers.ts';
import type { Clock } from '../../../shared/clock.ts';
import { parseInput } from '../../../shared/http.ts';
import type { Logger } from '../../../shared/logger.ts';
import { html, type Html } from '../../../shared/web/html.ts';
import { dateIn, dateTimeIn } from '../../../shared/web/dates.ts';
import { fill, pick, requestLang, type Lang } from '../../../shared/web/lang.ts';
import { formFields } from '../../../shared/web/server.ts';
import { listCertificates, type ListedCertificate } from '../../../trust/pki/authority.ts';
import type { Institution, SuspensionEvent } from '../model.ts';
import { INSTITUTION_KIND_NAMES } from '../service/records.ts';
import type { Registry } from '../service/registry.ts';
import { aside, type RenderedPage } from './operator-console.ts';

export interface RegistryConsoleOptions {
  guard: preHandlerHookHandler | preHandlerHookHandler[];
  registry: Registry;
  /** The network's PKI directory, for each institution's certificate status; without it, none shown. */
  pkiDir?: string | undefined;
  clock: Clock;
  logger: Logger;
  render: (request: FastifyRequest, page: RenderedPage) => string;
  /** The staff member of a guarded request: who they are (for the log) and their forms' CSRF token. */
  staff: (request: FastifyRequest) => { accountId: string; csrfToken: string };
  /** Where the plugin is mounted; default `/operator`. */
  base?: string;
}

const Registration = InstitutionRegistration.extend({ id: InstitutionId });

const DONE = z.strictObject({
  done: z.enum(['registered', 'updated', 'rotated', 'suspended', 'reinstated']).optional(),
  id: InstitutionId.optional(),
});

/** The registry's words, each language's (shared/web/lang.ts). */
export const REGISTRY_MESSAGES = {
  registered: { ja: '登録しました。', en: 'Registered.' },
  updated: { ja: '更新しました。', en: 'Updated.' },
  rotated: {
    ja: '鍵の版を更新しました。機関がコードを再発行（renkei codes reissue）するまで、再鍵化は未完了です。',
    en: 'Key version moved on. Re-keying stays pending until the institution reissues its codes (renkei codes reissue).',
  },
  suspended: {
    ja: '参加を停止しました。この機関が送る照会、この機関への照会はすべて拒否されます。',
    en: 'Suspended. Every request from this institution and every request to it is refused.',
  },
  reinstated: { ja: '参加の停止を解除しました。', en: 'Reinstated.' },
  suspendTitle: { ja: '参加の停止', en: 'Suspend an institution' },
  suspendWarning: {
    ja:
      'この機関が送る照会と、この機関を提供者とする照会を、解除するまですべて拒否します（拒否は記録されます）。' +
      '符号の発行とお知らせの送信も拒否し、異動の通知は解除まで保留します。受付済みの照会は最後まで処理します。',
    en:
      'Every request this institution sends and every request naming it as provider is refused until reinstated (the refusals are recorded). ' +
      'Issuing codes and sending notices are refused too, and notices of change are held until then. Requests already accepted are finished.',
  },
  suspendButton: { ja: '停止する', en: 'Suspend' },
  suspendShort: { ja: '停止…', en: 'Suspend…' },
  reinstateTitle: { ja: '参加の停止の解除', en: 'Reinstate an institution' },
  reinstateWarning: {
    ja: 'この機関の照会を再び受け付けます。保留中の異動の通知を届けます。',
    en: 'Requests of this institution are accepted again; the notices of change held are delivered.',
  },
  reinstateButton: { ja: '解除する', en: 'Reinstate' },
  reinstateShort: { ja: '解除…', en: 'Reinstate…' },
  reason: { ja: '理由', en: 'Reason' },
  cancel: { ja: 'やめる', en: 'Cancel' },
  suspendedState: { ja: '停止中', en: 'Suspended' },
  active: { ja: '参加中', en: 'Active' },
  reasonFor: { ja: '{name}の{action}の理由', en: 'Reason: {action}, {name}' },
  valid: { ja: '有効', en: 'Valid' },
  revoked: { ja: '失効', en: 'Revoked' },
  expired: { ja: '期限切れ', en: 'Expired' },
  until: { ja: '〜{day}', en: 'until {day}' },
  noCert: { ja: '未発行', en: 'None' },
  rekeyDone: { ja: '完了', en: 'Done' },
  rekeyPending: { ja: '未完了', en: 'Pending' },
  lead: {
    ja: '情報提供ネットワークシステムに参加する機関 {n}件。鍵の版は、機関のコードを発行する鍵の版です。再鍵化は、鍵の版の更新後に機関が保有するコードをすべて新しい版で再発行したことを示します。',
    en: '{n} institutions take part in the network. The key version is the version of the key that issues the institution’s codes; re-keying is done once the institution has reissued all its codes with the new version.',
  },
  institutionCode: { ja: '機関コード', en: 'Institution code' },
  name: { ja: '名称', en: 'Name' },
  kind: { ja: '種別', en: 'Kind' },
  networkUrl: { ja: 'ネットワークURL', en: 'Network URL' },
  keyVersion: { ja: '鍵の版', en: 'Key version' },
  rekey: { ja: '再鍵化', en: 'Re-keying' },
  certificate: { ja: '証明書', en: 'Certificate' },
  status: { ja: '参加', en: 'Status' },
  updatedAt: { ja: '更新日時', en: 'Updated' },
  rotateFor: { ja: '{name}の鍵の版を更新', en: 'Move the key version of {name}' },
  rotate: { ja: '鍵の版を更新', en: 'Move the key version' },
  addOrUpdate: { ja: '機関の登録・更新', en: 'Add or update an institution' },
  addHint: {
    ja: '既にある機関コードを入力すると、その機関の名称・種別・URLを更新します。鍵の版は変わりません。',
    en: 'An existing institution code updates that institution’s name, kind and URL; its key version stays.',
  },
  nameEn: { ja: '英語名', en: 'Name in English' },
  register: { ja: '登録', en: 'Register' },
  suspendHint: {
    ja: '参加の停止は解除できます（{suspend} も同じです）。証明書の失効はこの画面ではできません: {revoke} を使います（失効は取り消せません）。',
    en: 'A suspension can be undone ({suspend} do the same). A certificate cannot be revoked here: use {revoke} (a revocation cannot be undone).',
  },
  institutionPlaceholder: { ja: '機関コード', en: 'institution code' },
} as const;
type RegistryWords = ReturnType<typeof pick<typeof REGISTRY_MESSAGES>>;

const SuspensionForm = z.strictObject({
  _csrf: z.string().optional(),
  reason: z.string().trim().min(1).max(500),
  confirmed: z.literal('yes').optional(),
});

/** Each suspension action: what it sets, and its words' keys in REGISTRY_MESSAGES. */
const ACTIONS = {
  suspend: {
    action: 'suspended',
    title: 'suspendTitle',
    warning: 'suspendWarning',
    button: 'suspendButton',
    short: 'suspendShort',
  },
  reinstate: {
    action: 'reinstated',
    title: 'reinstateTitle',
    warning: 'reinstateWarning',
    button: 'reinstateButton',
    short: 'reinstateShort',
  },
} as const satisfies Record<string, { action: string } & Record<string, keyof typeof REGISTRY_MESSAGES>>;

export const registryConsole: FastifyPluginAsync<RegistryConsoleOptions> = (app, options) => {
  const guards = [options.guard].flat();
  if (guards.length === 0 || guards.some((g) => typeof g !== 'function')) {
    throw new TypeError('registryConsole needs a guard');
  }
  for (const guard of guards) app.addHook('preHandler', guard);
  const base = options.base ?? '/operator';

  const certificates = (): ListedCertificate[] | undefined => {
    if (options.pkiDir === undefined) return undefined;
    try {
      return listCertificates({ dir: options.pkiDir, clock: options.clock });
    } catch {
      return undefined;
    }
  };

  app.get('/registry', async (request, reply) => {
    const done = parseInput(DONE, request.query, 'page');
    const institutions = (await options.registry.list()).toSorted((a, b) => a.id.localeCompare(b.id));
    const { csrfToken } = options.staff(request);
    // Why each suspended institution is (its latest change): a few rows, read for those only.
    const suspensions = new Map<string, SuspensionEvent>();
    for (const i of institutions.filter((i) => i.suspended)) {
      const latest = (await options.registry.history(i.id)).history.at(-1);
      if (latest) suspensions.set(i.id, latest);
    }
    const lang = requestLang(request);
    const body = registryBody(institutions, suspensions, certificates(), csrfToken, base, done, lang);
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(options.render(request, { title: '機関の登録簿', titleEn: 'Institution registry', body }));
  });

  app.post('/registry', async (request, reply) => {
    const fields = formFields(request.body);
    const { id, ...registration } = parseInput(
      Registration,
      {
        id: (fields.id ?? '').trim(),
        name: (fields.name ?? '').trim(),
        nameEn: (fields.nameEn ?? '').trim(),
        kind: fields.kind,
        networkUrl: (fields.networkUrl ?? '').trim(),
      },
      'institution (id, name, nameEn, kind, networkUrl)',
    );
    const { created } = await options.registry.register(id, registration);
    options.logger.info(
      { account: options.staff(request).accountId, institutionId: id, created },
      'institution registered from the console',
    );
    return reply.redirect(`${base}/registry?done=${created ? 'registered' : 'updated'}&id=${id}`, 303);
  });

  app.post('/registry/:id/rotate-key', async (request, reply) => {
    const { id } = parseInput(InstitutionParams, request.params, 'institution id');
    const rotated = await options.registry.rotateInstitutionKey(id);
    options.logger.info(
      { account: options.staff(request).accountId, institutionId: id, keyVersion: rotated.keyVersion },
      'institution key rotated from the console',
    );
    return reply.redirect(`${base}/registry?done=rotated&id=${id}`, 303);
  });
  for (const [path, text] of Object.entries(ACTIONS)) {
    app.post(`/registry/:id/${path}`, async (request, reply) => {
      const { id } = parseInput(InstitutionParams, request.params, 'institution id');
      const form = parseInput(SuspensionForm, formFields(request.body), 'reason');
      const { accountId, csrfToken } = options.staff(request);
      if (form.confirmed !== 'yes') {
        // Nothing changes on the first POST: the operator reads what will happen, then confirms.
        const institution = await options.registry.get(id);
        const body = confirmBody(
          institution,
          form.reason,
          text,
          `${base}/registry/${id}/${path}`,
          csrfToken,
          base,
          requestLang(request),
        );
        return reply
          .type('text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(
            options.render(request, {
              title: REGISTRY_MESSAGES[text.title].ja,
              titleEn: REGISTRY_MESSAGES[text.title].en,
              body,
            }),
          );
      }
      const { changed } = await options.registry.setSuspended(
        id,
        text.action,
        form.reason,
        `console:${accountId}`,
      );
      options.logger.warn(
        { account: accountId, institutionId: id, changed },
        `institution ${text.action} from the console`,
      );
      return reply.redirect(`${base}/registry?done=${text.action}&id=${id}`, 303);
    });
  }
  return Promise.resolve();
};

function confirmBody(
  institution: Institution,
  reason: string,
  text: (typeof ACTIONS)[keyof typeof ACTIONS],
  action: string,
  csrfToken: string,
  base: string,
  lang: Lang,
): Html {
  const t = pick(REGISTRY_MESSAGES, lang);
  return html`<p class="lead">
      <code>${institution.id}</code>
      ${lang === 'en' ? institution.nameEn : institution.name}${aside(lang, INSTITUTION_KIND_NAMES[institution.kind][lang])}
    </p>
    <p class="notice notice--error" role="alert">${t[text.warning]}</p>
    <dl class="summary">
      <dt>${t.reason}</dt>
      <dd data-reason>${reason}</dd>
    </dl>
    <form method="post" action="${action}" id="confirm">
      <input type="hidden" name="_csrf" value="${csrfToken}" />
      <input type="hidden" name="reason" value="${reason}" />
      <input type="hidden" name="confirmed" value="yes" />
      <button class="button" type="submit">${t[text.button]}</button>
      <a class="button button--secondary" href="${base}/registry">${t.cancel}</a>
    </form>`;
}

function suspensionCell(
  i: Institution,
  latest: SuspensionEvent | undefined,
  csrfToken: string,
  base: string,
  t: RegistryWords,
  lang: Lang,
): Html {
  const path = i.suspended ? 'reinstate' : 'suspend';
  const text = ACTIONS[path];
  return html`<span class="${i.suspended ? 'status--down' : ''}" data-suspended="${String(i.suspended)}"
      >${i.suspended ? t.suspendedState : t.active}</span
    >
    ${
      latest
        ? html`<div class="hint" data-suspension-reason>
            ${latest.reason}${aside(lang, `${latest.by}${lang === 'en' ? ', ' : '、'}${dateTimeIn(lang, new Date(latest.at))}`)}
          </div>`
        : null
    }
    <form method="post" action="${base}/registry/${i.id}/${path}" class="row-form">
      <input type="hidden" name="_csrf" value="${csrfToken}" />
      <input
        class="input"
        id="reason-${i.id}"
        name="reason"
        required
        maxlength="500"
        placeholder="${t.reason}"
        aria-label="${fill(t.reasonFor, { name: lang === 'en' ? i.nameEn : i.name, action: t[text.title] })}"
      />
      <button class="button button--secondary" type="submit">${t[text.short]}</button>
    </form>`;
}

function certificateCell(
  all: ListedCertificate[] | undefined,
  id: string,
  t: RegistryWords,
  lang: Lang,
): Html {
  if (all === undefined) return html`<span class="hint">—</span>`;
  const identity = all
    .filter((c) => c.partyId === id && c.kind === 'identity')
    .toSorted((a, b) => b.issuedAt.localeCompare(a.issuedAt))[0];
  if (!identity) return html`<span class="status--down" data-cert="none">${t.noCert}</span>`;
  const until = dateIn(lang, new Date(identity.notAfter));
  return html`<span
      class="${identity.status === 'valid' ? '' : 'status--down'}"
      data-cert="${identity.status}"
      >${t[identity.status]}</span
    >
    <div class="hint">
      ${
        identity.status === 'revoked'
          ? html`${identity.revokedAt ? dateIn(lang, new Date(identity.revokedAt)) : ''}${aside(lang, identity.reason ?? '')}`
          : fill(t.until, { day: until })
      }
    </div>`;
}

function rekeyCell(i: Institution, t: RegistryWords, lang: Lang): Html {
  return i.rekeyedVersion >= i.keyVersion
    ? html`<span data-rekey="done">${t.rekeyDone}</span>`
    : html`<span class="status--down" data-rekey="pending"
        >${t.rekeyPending}${aside(lang, `v${i.rekeyedVersion} → v${i.keyVersion}`)}</span
      >`;
}

function registryBody(
  institutions: readonly Institution[],
  suspensions: ReadonlyMap<string, SuspensionEvent>,
  certificates: ListedCertificate[] | undefined,
  csrfToken: string,
  base: string,
  done: z.infer<typeof DONE>,
  lang: Lang,
): Html {
  const t = pick(REGISTRY_MESSAGES, lang);
  const kinds = InstitutionKind.options;
  return html`${
      done.done
        ? html`<p class="notice notice--success" role="status">${done.id ?? ''} ${t[done.done]}</p>`
        : null
    }
    <p class="lead">${fill(t.lead, { n: institutions.length })}</p>
    <table class="data-table" id="institutions">
      <thead>
        <tr>
          <th>${t.institutionCode}</th>
          <th>${t.name}</th>
          <th>${t.kind}</th>
          <th>${t.networkUrl}</th>
          <th class="num">${t.keyVersion}</th>
          <th>${t.rekey}</th>
          <th>${t.certificate}</th>
          <th>${t.status}</th>
          <th>${t.updatedAt}</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        ${institutions.map(
          (i) =>
            html`<tr data-institution="${i.id}">
              <td><code>${i.id}</code></td>
              <td>
                <span lang="ja">${i.name}</span>
                <div class="hint" lang="en">${i.nameEn}</div>
              </td>
              <td>${INSTITUTION_KIND_NAMES[i.kind][lang]}</td>
              <td><code>${i.networkUrl}</code></td>
              <td class="num" data-key-version="${i.keyVersion}">${i.keyVersion}</td>
              <td>${rekeyCell(i, t, lang)}</td>
              <td>${certificateCell(certificates, i.id, t, lang)}</td>
              <td>${suspensionCell(i, suspensions.get(i.id), csrfToken, base, t, lang)}</td>
              <td>${dateTimeIn(lang, new Date(i.updatedAt))}</td>
              <td>
                <form method="post" action="${base}/registry/${i.id}/rotate-key">
                  <input type="hidden" name="_csrf" value="${csrfToken}" />
                  <button
                    class="button button--secondary"
                    type="submit"
                    ${i.rekeyedVersion < i.keyVersion ? html`disabled` : null}
                    aria-label="${fill(t.rotateFor, { name: lang === 'en' ? i.nameEn : i.name })}"
                  >
                    ${t.rotate}
                  </button>
                </form>
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>${t.addOrUpdate}</h2>
    <p class="hint">${t.addHint}</p>
    <form method="post" action="${base}/registry" class="search-form" id="register">
      <input type="hidden" name="_csrf" value="${csrfToken}" />
      <div class="form-field">
        <label for="id">${t.institutionCode}</label>
        <input class="input" id="id" name="id" required maxlength="32" pattern="[a-z0-9\\-]{2,32}" />
      </div>
      <div class="form-field">
        <label for="name">${t.name}</label>
        <input class="input" id="name" name="name" required maxlength="100" />
      </div>
      <div class="form-field">
        <label for="nameEn">${t.nameEn}</label>
        <input class="input" id="nameEn" name="nameEn" required maxlength="100" />
      </div>
      <div class="form-field">
        <label for="kind">${t.kind}</label>
        <select class="input" id="kind" name="kind">
          ${kinds.map((k) => html`<option value="${k}">${INSTITUTION_KIND_NAMES[k][lang]}</option>`)}
        </select>
      </div>
      <div class="form-field">
        <label for="networkUrl">${t.networkUrl}</label>
        <input class="input" id="networkUrl" name="networkUrl" type="url" required placeholder="https://" />
      </div>
      <button class="button" type="submit">${t.register}</button>
    </form>
    <p class="hint">
      ${withCode(t.suspendHint, {
        suspend: 'renkei registry suspend / reinstate',
        revoke: `renkei pki revoke --party <${t.institutionPlaceholder}>`,
      })}
    </p>`;
}

/** A sentence of the table with its `{name}` placeholders filled with commands, each as `<code>`. */
function withCode(text: string, commands: Record<string, string>): Html[] {
  return text
    .split(/\{(\w+)\}/)
    .map((part, i) => (i % 2 === 1 ? html`<code>${commands[part] ?? ''}</code>` : html`${part}`));
}
