/**
 * ぴったりサービス's routes, beside `router.ts` (which lists them in its table):
 *
 * - **web** (`registerServicePages`), for the resident (logged in) and the card reader:
 *
 *   | method, path                                        | who          | what                                      |
 *   | --------------------------------------------------- | ------------ | ----------------------------------------- |
 *   | `GET /services[?event=&municipality=&q=]`           | resident     | the finder                                |
 *   | `GET /services/:municipality/:procedure/apply`      | resident     | the form (添付不要 shown, not asked for)  |
 *   | `POST /services/:municipality/:procedure/apply`     | resident     | validate (CSRF), prepare, to signing      |
 *   | `GET /services/signing/:request`                    | resident     | the summary and the link to the reader    |
 *   | `GET /signing-requests/:request/document`           | the reader   | the bytes to sign (the id is the proof)   |
 *   | `POST /signing-requests/:request/signature`         | the reader's page | the CMS SignedData; 303 to the receipt |
 *   | `GET /services/signing/:request/received`           | resident     | the receipt with the application number   |
 *   | `GET /services/applications`                        | resident     | their own applications and their status   |
 *
 * - **network**: `registerApplicationDownloads` in `router.ts` (portalApi.listApplications,
 *   getApplication, downloadApplications), on the mutual-TLS listener.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LoginNonce } from '../../protocol/portal.ts';
import type { SecurityEventSink } from '../../protocol/server.ts';
import type { Clock } from '../../shared/clock.ts';
import { RenkeiError, type ErrorCode } from '../../shared/errors.ts';
import { cookieOptions, formFields } from '../../shared/web/server.ts';
import { SESSION_COOKIE } from './router.ts';
import type { ApplicationService, SigningDocument } from './service/applications.ts';
import type { FinderService } from './service/finder.ts';
import type { NoticeService } from './service/notices.ts';
import type { Session, SessionService } from './service/sessions.ts';
import {
  applyPage,
  finderPage,
  myApplicationsPage,
  receivedPage,
  signRequestPage,
} from './web/services-page.ts';
import { viewOf } from './web/pages.ts';
import { refusalRecorder } from './refusals.ts';

const HTML = 'text/html; charset=utf-8';

export interface ServicePagesDeps {
  sessions: SessionService;
  notices: NoticeService;
  finder: FinderService;
  applications: ApplicationService;
  clock: Clock;
  origin: () => string;
  readerUrl: string;
  tls: boolean;
  record?: SecurityEventSink | undefined;
}

export function registerServicePages(app: FastifyInstance, deps: ServicePagesDeps): void {
  const { sessions, finder, applications, notices } = deps;
  const requireSession = async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<Session | undefined> => {
    const session = await sessions.find(request.cookies[SESSION_COOKIE]);
    if (!session) {
      void reply.clearCookie(SESSION_COOKIE, cookieOptions(deps.tls)).redirect('/login', 303);
      return undefined;
    }
    return session;
  };
  const recordRefusal = refusalRecorder(deps);
  const refuse = async (route: string, code: ErrorCode, request: FastifyRequest) => {
    await recordRefusal(request, route, code);
    return new RenkeiError(
      'ERR_CALLER_NOT_ALLOWED',
      'A form of another site, or an old form, cannot act here.',
    );
  };
  const found = (request: FastifyRequest) => {
    const params = request.params as { municipality?: string; procedure?: string };
    const hit = finder.find(params.municipality ?? '', params.procedure ?? '');
    if (!hit)
      throw new RenkeiError(
        'ERR_ROUTE_NOT_FOUND',
        'This municipality does not accept this procedure online.',
      );
    return hit;
  };
  const requestIdOf = (request: FastifyRequest) => {
    const id = LoginNonce.safeParse((request.params as { request?: string }).request);
    if (!id.success)
      throw new RenkeiError('ERR_MESSAGE_STALE', 'This application is not awaiting a signature.');
    return id.data;
  };
  const page = (reply: FastifyReply, body: string, status = 200) =>
    reply.status(status).type(HTML).header('cache-control', 'no-store').send(body);

  app.get('/services', async (request, reply) => {
    const session = await requireSession(request, reply);
    if (!session) return reply;
    const q = request.query as Record<string, unknown>;
    const text = (v: unknown, max: number) => (typeof v === 'string' && v.length <= max ? v : undefined);
    const query = {
      lifeEvent: text(q.event, 40) || undefined,
      municipalityId: text(q.municipality, 6) || undefined,
      keyword: text(q.q, 100) || undefined,
    };
    return page(
      reply,
      finderPage(viewOf(request), {
        csrfToken: session.csrfToken,
        unread: await notices.unread(session.personId),
        lifeEvents: finder.lifeEvents,
        municipalities: finder.municipalities,
        query,
        results: finder.search(query),
      }),
    );
  });

  // The resident's own applications: what, to whom, when, and whether the municipality has taken
  // it (downloaded) yet. Only the session's person's; nothing of anyone else's is reachable here.
  app.get('/services/applications', async (request, reply) => {
    const session = await requireSession(request, reply);
    if (!session) return reply;
    const mine = await applications.listMine(session.personId);
    const view = viewOf(request);
    const names = new Map(finder.municipalities.map((m) => [m.id, view.lang === 'en' ? m.nameEn : m.name]));
    return page(
      reply,
      myApplicationsPage(view, {
        csrfToken: session.csrfToken,
        unread: await notices.unread(session.personId),
        applications: mine.map((a) => ({
          applicationNumber: a.applicationNumber,
          procedureName: a.procedureName,
          municipalityName: names.get(a.municipalityId) ?? a.municipalityId,
          receivedAt: a.receivedAt,
          downloadedAt: a.downloadedAt,
        })),
      }),
    );
  });

  app.get('/services/:municipality/:procedure/apply', async (request, reply) => {
    const session = await requireSession(request, reply);
    if (!session) return reply;
    const hit = found(request);
    return page(
      reply,
      applyPage(viewOf(request), {
        csrfToken: session.csrfToken,
        unread: await notices.unread(session.personId),
        found: hit,
      }),
    );
  });

  app.post('/services/:municipality/:procedure/apply', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== deps.origin()) {
      throw await refuse('portal.onestopApply', 'ERR_CALLER_NOT_ALLOWED', request);
    }
    const session = await requireSession(request, reply);
    if (!session) return reply;
    const fields = formFields(request.body);
    if (!sameToken(fields._csrf, session.csrfToken)) {
      throw await refuse('portal.onestopApply', 'ERR_CALLER_NOT_ALLOWED', request);
    }
    const hit = found(request);
    const checked = applications.validate(hit.procedure, fields);
    if ('errors' in checked) {
      return page(
        reply,
        applyPage(viewOf(request), {
          csrfToken: session.csrfToken,
          unread: await notices.unread(session.personId),
          found: hit,
          given: fields,
          errors: checked.errors,
        }),
        400,
      );
    }
    const prepared = await applications.prepare({
      personId: session.personId,
      found: hit,
      values: checked.values,
    });
    return reply.redirect(`/services/signing/${prepared.requestId}`, 303);
  });

  app.get('/services/signing/:request', async (request, reply) => {
    const session = await requireSession(request, reply);
    if (!session) return reply;
    const requestId = requestIdOf(request);
    const pending = await applications.pendingOf(session.personId, requestId);
    if (!pending) throw new RenkeiError('ERR_MESSAGE_STALE', 'This application is not awaiting a signature.');
    const document = await applications.document(requestId);
    const link = new URL('/sign-document', deps.readerUrl);
    link.search = new URLSearchParams({ request: requestId, portal: deps.origin() }).toString();
    const view = viewOf(request);
    const shown = (view.lang === 'en' && documentInEnglish(finder, document)) || document;
    return page(
      reply,
      signRequestPage(view, {
        csrfToken: session.csrfToken,
        unread: await notices.unread(session.personId),
        readerLink: link.toString(),
        procedureName: shown.procedureName,
        municipalityName: shown.municipalityName,
        lines: shown.lines,
      }),
    );
  });

  // The reader (a program, not a browser) fetches what to show and sign: the unguessable id, made
  // for one logged-in person and valid 10 minutes, is the capability.
  app.get('/signing-requests/:request/document', async (request, reply) => {
    const document = await applications.document(requestIdOf(request));
    return reply.header('cache-control', 'no-store').send({
      content: Buffer.from(document.content).toString('base64'),
      municipalityName: document.municipalityName,
      procedureName: document.procedureName,
      lines: document.lines,
      attachmentsOmitted: document.attachmentsOmitted,
      en: documentInEnglish(finder, document),
      expiresAt: document.expiresAt.toISOString(),
    });
  });

  // From the reader's page (another origin; no session cookie on a cross-site POST): the request id
  // and the signature are the proof. The receipt is a GET in the resident's browser, with the session.
  app.post('/signing-requests/:request/signature', async (request, reply) => {
    const requestId = requestIdOf(request);
    const value = formFields(request.body).signedData ?? '';
    if (value.length === 0 || value.length > 64 * 1024 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
      await refuse('portal.onestopSignature', 'ERR_VALIDATION', request);
      throw new RenkeiError('ERR_VALIDATION', 'The card reader’s answer is incomplete.');
    }
    await applications.receiveSignature({
      requestId,
      signedData: new Uint8Array(Buffer.from(value, 'base64')),
      remoteAddress: request.ip ?? null,
    });
    return reply.redirect(`/services/signing/${requestId}/received`, 303);
  });

  app.get('/services/signing/:request/received', async (request, reply) => {
    const session = await requireSession(request, reply);
    if (!session) return reply;
    const application = await applications.receivedFor(session.personId, requestIdOf(request));
    if (!application) throw new RenkeiError('ERR_ROUTE_NOT_FOUND', 'There is no such application.');
    const municipality = finder.municipalities.find((m) => m.id === application.municipalityId);
    const view = viewOf(request);
    return page(
      reply,
      receivedPage(view, {
        csrfToken: session.csrfToken,
        unread: await notices.unread(session.personId),
        application,
        municipalityName:
          (view.lang === 'en' ? municipality?.nameEn : municipality?.name) ?? application.municipalityId,
      }),
    );
  });
}

/**
 * A document to sign, shown in English: the catalogue's and the legal table's English for its names,
 * labels and omitted attachments; each value as signed, with a choice's English beside it (the card
 * signs the Japanese bytes, and the resident should see what they are). Undefined when the catalogue no
 * longer has the procedure (the Japanese is shown).
 */
export function documentInEnglish(
  finder: FinderService,
  document: SigningDocument,
):
  | {
      municipalityName: string;
      procedureName: string;
      lines: { label: string; value: string }[];
      attachmentsOmitted: string[];
    }
  | undefined {
  const found = finder.find(document.municipalityId, document.procedureId);
  if (!found) return undefined;
  const fields = new Map(found.procedure.form.map((f) => [f.name, f]));
  const { attachmentsOmitted, attachmentsOmittedEn } = found.procedure;
  return {
    municipalityName: found.municipality.nameEn,
    procedureName: found.procedure.nameEn,
    lines: document.lines.map((line) => {
      const field = fields.get(line.name);
      const choice = field?.optionsEn?.[field.options?.indexOf(line.value) ?? -1];
      return {
        label: field?.labelEn ?? line.label,
        value: choice ? `${line.value} (${choice})` : line.value,
      };
    }),
    attachmentsOmitted: document.attachmentsOmitted.map(
      (name) => attachmentsOmittedEn[attachmentsOmitted.indexOf(name)] ?? name,
    ),
  };
}

function sameToken(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
