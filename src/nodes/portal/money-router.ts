/**
 * Service D's routes (公金受取口座・公金決済). The pages (logged in; every POST needs the session's
 * CSRF token and a same-origin `Origin`):
 *
 *   | method, path                  | what                                                          |
 *   | ----------------------------- | ------------------------------------------------------------- |
 *   | `GET /account`                | the registered account, or the form when there is none         |
 *   | `GET /account/edit`           | the form, filled with the account                              |
 *   | `POST /account/edit`          | the form again with what was typed (from the confirm step)     |
 *   | `POST /account/confirm`       | checked: the confirm step, or the form with each problem       |
 *   | `POST /account`               | register or change (checked again)                             |
 *   | `POST /account/delete`        | delete the account                                             |
 *   | `GET /payments/:noticeId`     | a notice's payment request: amount, payee, due date, or paid   |
 *   | `POST /payments/:noticeId`    | to the payment provider's checkout (refused once paid)         |
 *   | `GET|POST /demo-pay/:id`      | the demo payment provider's checkout (no portal session)       |
 *
 * The network (mutual TLS, callers: the core only): `networkApi.requestProvision`,
 * `requestProvisionBatch` and `notifyProvisionFailure`, answered by the provider's rules shared with
 * the institutions (src/protocol/provider.ts) from the accounts residents registered (item 70).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PortalNoticeId } from '../../protocol/portal-notices.ts';
import type { ProvisionService } from '../../protocol/provider.ts';
import { portalNetworkApi } from '../../protocol/routes.ts';
import { serve, type SecurityEventSink } from '../../protocol/server.ts';
import type { Clock } from '../../shared/clock.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { refusalRecorder } from './refusals.ts';
import { cookieOptions, formFields } from '../../shared/web/server.ts';
import { SESSION_COOKIE } from './router.ts';
import { checkAccount, type AccountService } from './service/accounts.ts';
import { CHECKOUT_PATH, type DemoPaymentProvider } from './service/demo-payment-provider.ts';
import type { PaymentService } from './service/payments.ts';
import type { Session, SessionService } from './service/sessions.ts';
import {
  accountConfirmPage,
  accountFormPage,
  accountPage,
  checkoutPage,
  paymentPage,
} from './web/money-pages.ts';
import { viewOf } from './web/pages.ts';

const HTML = 'text/html; charset=utf-8';
const ACCOUNT_FIELDS = ['bankCode', 'branchCode', 'accountType', 'accountNumber', 'holderName'] as const;

export interface MoneyPagesDeps {
  sessions: SessionService;
  accounts: AccountService;
  payments: PaymentService;
  provider: DemoPaymentProvider;
  clock: Clock;
  origin: () => string;
  tls: boolean;
  record?: SecurityEventSink | undefined;
}

export function registerMoneyPages(app: FastifyInstance, deps: MoneyPagesDeps): void {
  const { sessions, accounts, payments, provider } = deps;

  const refuse = refusalRecorder(deps);
  const session = async (request: FastifyRequest, reply: FastifyReply): Promise<Session | undefined> => {
    const found = await sessions.find(request.cookies[SESSION_COOKIE]);
    if (!found) void reply.clearCookie(SESSION_COOKIE, cookieOptions(deps.tls)).redirect('/login', 303);
    return found;
  };
  /** A logged-in form of this origin with the session's CSRF token; the form's fields. */
  const form = async (request: FastifyRequest, reply: FastifyReply, route: string) => {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== deps.origin()) {
      await refuse(request, route, 'ERR_CALLER_NOT_ALLOWED');
      throw new RenkeiError('ERR_CALLER_NOT_ALLOWED', 'A form of another site cannot act here.');
    }
    const found = await session(request, reply);
    if (!found) return undefined;
    const fields = formFields(request.body);
    if (!sameToken(fields._csrf, found.csrfToken)) {
      await refuse(request, route, 'ERR_CALLER_NOT_ALLOWED');
      throw new RenkeiError('ERR_CALLER_NOT_ALLOWED', 'The form’s CSRF token is missing or wrong.');
    }
    return { session: found, fields };
  };
  const send = (reply: FastifyReply, body: string) =>
    reply.type(HTML).header('cache-control', 'no-store').send(body);
  const accountFields = (fields: Partial<Record<string, unknown>>) =>
    Object.fromEntries(
      ACCOUNT_FIELDS.map((k) => {
        const value = fields[k];
        return [k, typeof value === 'string' ? value : ''];
      }),
    );

  // ── 公金受取口座 ─────────────────────────────────────────────────────────────────────────
  app.get('/account', async (request, reply) => {
    const s = await session(request, reply);
    if (!s) return reply;
    const account = await accounts.find(s.personId);
    const saved = (request.query as Record<string, unknown>).saved === '1' ? ('saved' as const) : undefined;
    return send(
      reply,
      account
        ? accountPage(viewOf(request), { csrfToken: s.csrfToken, account, said: saved })
        : accountFormPage(viewOf(request), { csrfToken: s.csrfToken }),
    );
  });

  app.get('/account/edit', async (request, reply) => {
    const s = await session(request, reply);
    if (!s) return reply;
    const account = await accounts.find(s.personId);
    return send(
      reply,
      accountFormPage(viewOf(request), {
        csrfToken: s.csrfToken,
        given: account && accountFields({ ...account }),
      }),
    );
  });

  app.post('/account/edit', async (request, reply) => {
    const f = await form(request, reply, 'portal.account');
    if (!f) return reply;
    return send(
      reply,
      accountFormPage(viewOf(request, '/account/edit'), {
        csrfToken: f.session.csrfToken,
        given: accountFields(f.fields),
      }),
    );
  });

  app.post('/account/confirm', async (request, reply) => {
    const f = await form(request, reply, 'portal.account');
    if (!f) return reply;
    const checked = checkAccount(f.fields);
    if (!checked.ok) {
      reply.status(400);
      return send(
        reply,
        accountFormPage(viewOf(request, '/account/edit'), {
          csrfToken: f.session.csrfToken,
          given: checked.given,
          problems: checked.problems,
        }),
      );
    }
    return send(
      reply,
      accountConfirmPage(viewOf(request, '/account/edit'), {
        csrfToken: f.session.csrfToken,
        values: { ...checked.account },
      }),
    );
  });

  app.post('/account', async (request, reply) => {
    const f = await form(request, reply, 'portal.account');
    if (!f) return reply;
    const checked = checkAccount(f.fields);
    if (!checked.ok) {
      reply.status(400);
      return send(
        reply,
        accountFormPage(viewOf(request, '/account/edit'), {
          csrfToken: f.session.csrfToken,
          given: checked.given,
          problems: checked.problems,
        }),
      );
    }
    await accounts.save(f.session.personId, f.fields);
    return reply.redirect('/account?saved=1', 303);
  });

  app.post('/account/delete', async (request, reply) => {
    const f = await form(request, reply, 'portal.account');
    if (!f) return reply;
    await accounts.delete(f.session.personId);
    return reply.redirect('/account', 303);
  });

  // ── 公金決済 ─────────────────────────────────────────────────────────────────────────────
  const noticeIdOf = (request: FastifyRequest) => {
    const id = PortalNoticeId.safeParse((request.params as { noticeId?: string }).noticeId);
    if (!id.success) throw new RenkeiError('ERR_ROUTE_NOT_FOUND', 'There is no such payment.');
    return id.data;
  };

  app.get('/payments/:noticeId', async (request, reply) => {
    const s = await session(request, reply);
    if (!s) return reply;
    const payment = await payments.find(s.personId, noticeIdOf(request));
    if (!payment) throw new RenkeiError('ERR_ROUTE_NOT_FOUND', 'There is no such payment.');
    const done = (request.query as Record<string, unknown>).done === '1';
    return send(reply, paymentPage(viewOf(request), { csrfToken: s.csrfToken, payment, done }));
  });

  app.post('/payments/:noticeId', async (request, reply) => {
    const f = await form(request, reply, 'portal.payment');
    if (!f) return reply;
    const noticeId = noticeIdOf(request);
    try {
      const { url } = await payments.checkout(f.session.personId, noticeId, provider);
      return reply.redirect(url, 303);
    } catch (error) {
      if (error instanceof RenkeiError && error.code === 'ERR_UNKNOWN_NOTICE') {
        throw new RenkeiError('ERR_ROUTE_NOT_FOUND', 'There is no such payment.');
      }
      // Paid already: the page says so.
      if (error instanceof RenkeiError && error.code === 'ERR_ALREADY_PAID') {
        return reply.redirect(`/payments/${noticeId}`, 303);
      }
      throw error;
    }
  });

  // The demo payment provider: a page of "another service", reached by the checkout's unguessable id.
  app.get(`${CHECKOUT_PATH}/:checkoutId`, (request, reply) => {
    const checkout = provider.get((request.params as { checkoutId: string }).checkoutId);
    return send(reply, checkoutPage(viewOf(request), checkout));
  });

  app.post(`${CHECKOUT_PATH}/:checkoutId`, async (request, reply) => {
    const checkoutId = (request.params as { checkoutId: string }).checkoutId;
    try {
      const checkout = await provider.confirm(checkoutId, formFields(request.body).token);
      if (checkout.state !== 'paid') {
        return send(
          reply.status(409),
          checkoutPage(viewOf(request, `${CHECKOUT_PATH}/${checkoutId}`), checkout),
        );
      }
      return reply.redirect(`/payments/${checkout.noticeId}?done=1`, 303);
    } catch (error) {
      if (error instanceof RenkeiError && error.code === 'ERR_ALREADY_PAID') {
        return send(
          reply.status(409),
          checkoutPage(viewOf(request, `${CHECKOUT_PATH}/${checkoutId}`), provider.get(checkoutId)),
        );
      }
      if (error instanceof RenkeiError && error.code === 'ERR_CALLER_NOT_ALLOWED') {
        await refuse(request, 'portal.demo-pay', error.code);
      }
      throw error;
    }
  });
}

/** The portal as a provider of the network: item 70, under clause 130 (callers: the core only). */
export function registerProviderRoutes(app: FastifyInstance, provisions: ProvisionService): void {
  serve(app, portalNetworkApi.requestProvision, async ({ body }) => provisions.answerProvisionRequest(body));
  serve(app, portalNetworkApi.requestProvisionBatch, async ({ body }) =>
    provisions.answerProvisionBatch(body),
  );
  serve(app, portalNetworkApi.notifyProvisionFailure, async ({ body }) => {
    await provisions.recordFailure(body);
    return undefined;
  });
}

function sameToken(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
