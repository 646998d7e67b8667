/**
 * The clerk console (窓口端末): the institution's web listener for its clerks, in the Myna Portal's
 * stack and look (shared/web: helmet's CSP, the design tokens, ES modules), behind the consoles'
 * login (shared/web/console: only `clerk` accounts of this institution). It calls the same services
 * the business API does, in process: an inquiry made here is the business API's inquiry, recorded
 * with the clerk as its access record (`<institution>:console:<account>`).
 *
 * | method, path                          | what                                                        |
 * | ------------------------------------- | ----------------------------------------------------------- |
 * | `GET /intake[?procedureId=&addresseeNumber=]` | 窓口: the procedures this institution may run; the picked one's attachments the network replaces, a provider per item |
 * | `POST /intake`                        | 照会する: one inquiry per provider, for exactly the items chosen; to the intake sheet |
 * | `GET /intake/:id`                     | the intake sheet: progress, which attachments are now unnecessary, the answers with the layout's labels, print |
 * | `GET /intake/:id/status`              | JSON for the page's live progress                           |
 * | `GET /bulk[?procedureId=]`, `POST /bulk` | 一括照会: a file (CSV or JSON lines) of addressee numbers, as `renkei bulk submit` takes it |
 * | `GET /bulk/:bulkNumber[/status]`      | its progress (page, JSON)                                   |
 * | `GET /bulk/:bulkNumber/results.csv`, `.jsonl` | the results                                         |
 * | `GET /records?from=&to=&procedureId=&outcome=&processingNumber=&page=` | 提供記録: this institution's records, searched, 50 a page |
 *
 * Errors on the pages: ERR_CALLER_NOT_ALLOWED (403: not a clerk of this institution, a bad CSRF
 * token), ERR_ROUTE_NOT_FOUND (404: an unknown bulk number), ERR_VALIDATION (a form's field, said on
 * the form itself).
 */
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { attachmentsVerdict } from '../../../domain/legal-table/attachments.ts';
import type { InstitutionSelector, LegalTable, Procedure } from '../../../domain/legal-table/types.ts';
import {
  BULK_RESULTS_CSV_HEADER,
  bulkResultCsvRow,
  parseAddresseeNumbers,
} from '../../../protocol/bulk-file.ts';
import { BulkNumber, type InquiryStatus } from '../../../protocol/business.ts';
import {
  AddresseeNumber,
  InstitutionId,
  ProcessingNumber,
  type InstitutionKind,
  type ItemNo,
} from '../../../protocol/identifiers.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import { registerConsole, type ConsoleRefusalSink } from '../../../shared/web/console/console.ts';
import { consoleErrorPage } from '../../../shared/web/console/pages.ts';
import { pick, type Lang } from '../../../shared/web/console/messages.ts';
import { fill } from '../../../shared/web/lang.ts';
import type { ConsoleStore } from '../../../shared/web/console/store.ts';
import type { ScryptParameters } from '../../../shared/web/console/passwords.ts';
import { formFields } from '../../../shared/web/server.ts';
import { createWebApp } from '../../../shared/web/server.ts';
import { html } from '../../../shared/web/html.ts';
import type { InstitutionServices } from '../router.ts';
import type { DirectoryEntry, ProviderDirectory } from './directory.ts';
import type { IntakeStore } from './intake-store.ts';
import { DEFAULT_INTAKE_HOURS, IntakeBook } from './intakes.ts';
import { CLERK } from './messages.ts';
import {
  bulkForm,
  bulkProgress,
  intakeForm,
  intakeSheet,
  recordsPage,
  type Directory,
  type IntakeView,
  type RecordQuery,
} from './pages.ts';

export interface ClerkConsoleDeps {
  institutionId: string;
  kind: InstitutionKind;
  /** The institution's name in the header (default its id). */
  name?: string | undefined;
  /** Its English name, in the header in English (default the name). */
  nameEn?: string | undefined;
  services: Pick<InstitutionServices, 'inquiries' | 'bulkInquiries' | 'records'>;
  legalTable: LegalTable;
  store: ConsoleStore;
  /** Where the intake sheets are kept (the intermediate server's database). */
  intakes: IntakeStore;
  /** How long an intake sheet is kept, in hours (default 8: the working day). */
  intakeHours?: number | undefined;
  clock: Clock;
  logger: Logger;
  /** HTTPS with this key and certificate (PEM); plain HTTP without (the demo, on 127.0.0.1). */
  tls?: { key: string; cert: string } | undefined;
  /** The node's security log: refused logins and forms. */
  record?: ConsoleRefusalSink | undefined;
  /**
   * Institutions a clerk may pick as providers, with their names: the core's directory (see
   * directory.ts). Without any the clerk types the provider's institution code.
   */
  directory?: ProviderDirectory | undefined;
  /** Faster hashes for tests only. */
  scrypt?: ScryptParameters | undefined;
}

const HTML = 'text/html; charset=utf-8';
const ASSETS_DIR = join(import.meta.dirname, 'assets');
const PAGE_SIZE = 50;

function selects(selector: InstitutionSelector, institution: { id: string; kind: InstitutionKind }): boolean {
  return selector.kinds.includes(institution.kind) || selector.institutions.includes(institution.id);
}

export async function createClerkConsole(deps: ClerkConsoleDeps): Promise<FastifyInstance> {
  const { legalTable, services, institutionId } = deps;
  const self = { id: institutionId, kind: deps.kind };
  const name = deps.name ?? institutionId;
  const app = await createWebApp({
    logger: deps.logger,
    tls: deps.tls,
    assets: { dir: ASSETS_DIR, files: ['clerk-console.js'] },
    errorPage: consoleErrorPage,
  });
  const staffConsole = await registerConsole(app, {
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    tls: deps.tls !== undefined,
    service: {
      name: `${name} ${CLERK.console.ja}`,
      nameEn: `${deps.nameEn ?? name} ${CLERK.console.en}`,
    },
    roles: ['clerk'],
    institutionId,
    cookieScope: institutionId.replace(/[^a-z0-9]/g, '_'),
    nav: [
      { href: '/intake', label: CLERK.intake },
      { href: '/bulk', label: CLERK.bulk },
      { href: '/records', label: CLERK.records },
    ],
    home: '/intake',
    record: deps.record,
    scrypt: deps.scrypt,
  });
  const guard = staffConsole.requireRole('clerk');
  const intakes = new IntakeBook(deps.intakes, deps.clock, deps.intakeHours);
  await intakes.purge();
  /** The procedures this institution may run today: those whose clause names it as requester. */
  const procedures = (): Procedure[] => {
    const today = deps.clock.now().toISOString().slice(0, 10);
    return legalTable.procedures.filter((p) => {
      const clause = legalTable.findClause(p.clauseNo);
      return (
        clause !== undefined &&
        selects(clause.requester, self) &&
        p.effectiveFrom <= today &&
        (p.effectiveTo === undefined || today < p.effectiveTo)
      );
    });
  };
  /** The providers as the core's directory has them now, for one request's pages and checks. */
  const directoryNow = async (): Promise<Directory> => {
    const entries = (await deps.directory?.entries()) ?? [];
    const byId = new Map(entries.map((entry) => [entry.id, entry]));
    const named = (entry: DirectoryEntry, lang: Lang) =>
      lang === 'en' ? (entry.nameEn ?? entry.name) : entry.name;
    return {
      nameOf: (id, lang) => {
        const entry = id === undefined ? undefined : byId.get(id);
        return entry ? `${named(entry, lang)} (${entry.id})` : (id ?? '');
      },
      providersFor(procedure, itemNo) {
        const clause = legalTable.findClause(procedure.clauseNo);
        if (!clause) return [];
        return entries
          .filter(
            (entry) =>
              entry.id !== institutionId &&
              clause.provisions.some((p) => selects(p.provider, entry) && p.itemNos.includes(itemNo)),
          )
          .map((entry) => ({ id: entry.id, name: entry.name, nameEn: entry.nameEn ?? entry.name }));
      },
    };
  };
  const findProcedure = (id: unknown) =>
    typeof id === 'string' ? procedures().find((p) => p.procedureId === id) : undefined;
  const send = (request: FastifyRequest, title: string, body: ReturnType<typeof html>, status = 200) => ({
    status,
    page: staffConsole.page(request, { title, body, scripts: ['clerk-console.js'] }),
  });

  // ── 窓口 ─────────────────────────────────────────────────────────────────────────────────
  /** The intake form's page: the GET shows it, a refused POST shows it again with its error. */
  const intakePage = (
    request: FastifyRequest,
    directory: Directory,
    procedure: Procedure | undefined,
    addresseeNumber: string,
    error?: string,
  ) => {
    const staff = staffConsole.staff(request);
    return send(
      request,
      pick(CLERK, staff.lang).intake,
      intakeForm({
        lang: staff.lang,
        legal: legalTable,
        directory,
        procedures: procedures(),
        procedure,
        addresseeNumber,
        csrfToken: staff.csrfToken,
        error,
      }),
    );
  };

  app.get('/intake', { preHandler: guard }, async (request, reply) => {
    const directory = await directoryNow();
    const query = request.query as Record<string, unknown>;
    const addressee = AddresseeNumber.safeParse(
      typeof query.addresseeNumber === 'string' ? query.addresseeNumber.trim() : undefined,
    );
    const out = intakePage(
      request,
      directory,
      findProcedure(query.procedureId),
      addressee.success ? addressee.data : '',
    );
    return reply.type(HTML).header('cache-control', 'no-store').send(out.page);
  });

  app.post('/intake', { preHandler: guard }, async (request, reply) => {
    const directory = await directoryNow();
    const staff = staffConsole.staff(request);
    const t = pick(CLERK, staff.lang);
    const fields = formFields(request.body);
    const procedure = findProcedure(fields.procedureId);
    if (!procedure) throw new RenkeiError('ERR_VALIDATION', 'This institution may not run that procedure.');
    const addressee = AddresseeNumber.safeParse((fields.addresseeNumber ?? '').trim());
    const groups = new Map<string, ItemNo[]>();
    let badProvider = false;
    for (const itemNo of new Set(procedure.attachmentsOmitted.flatMap((a) => a.itemNos))) {
      const chosen = (fields[`provider-${itemNo}`] ?? '').trim();
      if (chosen === '') continue;
      const provider = InstitutionId.safeParse(chosen);
      const listed = directory.providersFor(procedure, itemNo);
      if (!provider.success || (listed.length > 0 && !listed.some((p) => p.id === provider.data))) {
        badProvider = true;
        continue;
      }
      groups.set(provider.data, [...(groups.get(provider.data) ?? []), itemNo]);
    }
    const error = !addressee.success
      ? t.badAddressee
      : badProvider
        ? t.badProvider
        : groups.size === 0
          ? t.noneChosen
          : undefined;
    if (error || !addressee.success) {
      const out = intakePage(request, directory, procedure, addressee.success ? addressee.data : '', error);
      return reply.status(400).type(HTML).send(out.page);
    }
    const requestedBy = `${institutionId}:console:${staff.account.accountId}`;
    const inquiries = await Promise.all(
      [...groups].map(async ([providerId, itemNos]) => {
        try {
          const pending = await services.inquiries.inquire(
            {
              addresseeNumber: addressee.data,
              providerId,
              clauseNo: procedure.clauseNo,
              procedureId: procedure.procedureId,
              itemNos,
            },
            { requestedBy },
          );
          return { providerId, itemNos, processingNumber: pending.processingNumber, error: undefined };
        } catch (caught) {
          if (!(caught instanceof RenkeiError)) throw caught;
          const pn = caught.details.processingNumber;
          return {
            providerId,
            itemNos,
            processingNumber: typeof pn === 'string' ? pn : undefined,
            error: caught.code,
          };
        }
      }),
    );
    const intake = await intakes.add({
      accountId: staff.account.accountId,
      procedureId: procedure.procedureId,
      addresseeNumber: addressee.data,
      inquiries,
    });
    return reply.redirect(`/intake/${intake.intakeId}`, 303);
  });

  const intakeView = async (request: FastifyRequest): Promise<IntakeView | undefined> => {
    const staff = staffConsole.staff(request);
    const id = z.uuid().safeParse((request.params as { id?: string }).id);
    const intake = id.success ? await intakes.find(id.data, staff.account.accountId) : undefined;
    const procedure = intake && legalTable.findProcedure(intake.procedureId);
    if (!intake || !procedure) return undefined;
    const rows = await Promise.all(
      intake.inquiries.map(async (inquiry) => {
        let status: InquiryStatus | undefined;
        if (inquiry.processingNumber !== undefined && inquiry.error === undefined) {
          status = await services.inquiries.getInquiry(inquiry.processingNumber, 0).catch(() => undefined);
        }
        return { ...inquiry, status };
      }),
    );
    const asked = rows.filter((r) => r.error === undefined).flatMap((r) => r.itemNos);
    const provided = rows.flatMap((r) =>
      r.status?.outcome === 'provided' ? (r.status.items ?? []).map((i) => i.itemNo) : [],
    );
    const verdict = attachmentsVerdict(procedure, asked, provided);
    const notAsked = procedure.attachmentsOmitted
      .filter((a) => !a.itemNos.some((n) => asked.includes(n)))
      .map((a) => a.name);
    const answered = rows.filter((r) => r.error !== undefined || r.status?.status === 'answered').length;
    return {
      intakeId: intake.intakeId,
      at: intake.at,
      addresseeNumber: intake.addresseeNumber,
      procedure,
      rows,
      verdict,
      notAsked,
      answered,
      done: answered === rows.length,
    };
  };

  app.get('/intake/:id', { preHandler: guard }, async (request, reply) => {
    const directory = await directoryNow();
    const staff = staffConsole.staff(request);
    const t = pick(CLERK, staff.lang);
    const view = await intakeView(request);
    const body = view
      ? intakeSheet(view, {
          lang: staff.lang,
          legal: legalTable,
          directory,
          clerk: staff.account.displayName,
        })
      : html`<p class="notice notice--error" role="alert">
          ${fill(t.intakeGone, { hours: deps.intakeHours ?? DEFAULT_INTAKE_HOURS })}
        </p>`;
    return reply
      .status(view ? 200 : 404)
      .type(HTML)
      .header('cache-control', 'no-store')
      .send(
        send(
          request,
          `${t.intake}: ${(staff.lang === 'en' ? view?.procedure.nameEn : view?.procedure.name) ?? ''}`,
          body,
        ).page,
      );
  });

  app.get('/intake/:id/status', { preHandler: guard }, async (request, reply) => {
    const view = await intakeView(request);
    if (!view) throw new RenkeiError('ERR_ROUTE_NOT_FOUND', 'There is no such intake.');
    return reply
      .header('cache-control', 'no-store')
      .send({ done: view.done, fields: { answered: view.answered } });
  });

  // ── 一括照会 ─────────────────────────────────────────────────────────────────────────────
  const bulkPage = async (request: FastifyRequest, procedure: Procedure | undefined, error?: string) => {
    const staff = staffConsole.staff(request);
    const directory = await directoryNow();
    return send(
      request,
      pick(CLERK, staff.lang).bulk,
      bulkForm({
        lang: staff.lang,
        legal: legalTable,
        directory,
        procedures: procedures(),
        procedure,
        csrfToken: staff.csrfToken,
        error,
      }),
      error ? 400 : 200,
    );
  };

  app.get('/bulk', { preHandler: guard }, async (request, reply) => {
    const out = await bulkPage(
      request,
      findProcedure((request.query as Record<string, unknown>).procedureId),
    );
    return reply.type(HTML).header('cache-control', 'no-store').send(out.page);
  });

  app.post('/bulk', { preHandler: guard, bodyLimit: 48 * 1024 * 1024 }, async (request, reply) => {
    const staff = staffConsole.staff(request);
    const t = pick(CLERK, staff.lang);
    const fields = formFields(request.body);
    const procedure = findProcedure(fields.procedureId);
    if (!procedure) throw new RenkeiError('ERR_VALIDATION', 'This institution may not run that procedure.');
    const itemNos = procedure.itemNos.filter((n) => fields[`item-${n}`] === '1');
    const provider = InstitutionId.safeParse((fields.providerId ?? '').trim());
    const fail = async (error: string) => {
      const out = await bulkPage(request, procedure, error);
      return reply.status(out.status).type(HTML).send(out.page);
    };
    if (itemNos.length === 0) return fail(t.noItems);
    if (!provider.success) return fail(t.badProvider);
    let addresseeNumbers: string[];
    try {
      addresseeNumbers = parseAddresseeNumbers(fields.lines ?? '', {
        jsonLines: fields.format === 'jsonl',
        source: 'The file',
      });
    } catch (error) {
      if (error instanceof RenkeiError) return fail(error.message);
      throw error;
    }
    const accepted = await services.bulkInquiries.submit(
      {
        providerId: provider.data,
        clauseNo: procedure.clauseNo,
        procedureId: procedure.procedureId,
        itemNos,
        addresseeNumbers,
      },
      { requestedBy: `${institutionId}:console:${staff.account.accountId}` },
    );
    return reply.redirect(`/bulk/${accepted.bulkNumber}`, 303);
  });

  const bulkStatus = async (request: FastifyRequest) => {
    const bulkNumber = BulkNumber.safeParse((request.params as { bulkNumber?: string }).bulkNumber);
    if (!bulkNumber.success) throw new RenkeiError('ERR_ROUTE_NOT_FOUND', 'There is no such bulk inquiry.');
    try {
      return await services.bulkInquiries.status(bulkNumber.data);
    } catch (error) {
      if (error instanceof RenkeiError && error.code === 'ERR_UNKNOWN_BULK_NUMBER') {
        throw new RenkeiError('ERR_ROUTE_NOT_FOUND', 'There is no such bulk inquiry.');
      }
      throw error;
    }
  };

  app.get('/bulk/:bulkNumber', { preHandler: guard }, async (request, reply) => {
    const directory = await directoryNow();
    const staff = staffConsole.staff(request);
    const status = await bulkStatus(request);
    const body = bulkProgress(status, { lang: staff.lang, legal: legalTable, directory });
    return reply
      .type(HTML)
      .header('cache-control', 'no-store')
      .send(send(request, pick(CLERK, staff.lang).bulk, body).page);
  });

  app.get('/bulk/:bulkNumber/status', { preHandler: guard }, async (request, reply) => {
    const status = await bulkStatus(request);
    return reply.header('cache-control', 'no-store').send({
      done: status.status === 'done',
      fields: { finished: status.finished, finishedBar: status.finished },
    });
  });

  app.get('/bulk/:bulkNumber/results.:format', { preHandler: guard }, async (request, reply) => {
    const status = await bulkStatus(request);
    const csv = (request.params as { format?: string }).format === 'csv';
    if (!csv && (request.params as { format?: string }).format !== 'jsonl') {
      throw new RenkeiError('ERR_ROUTE_NOT_FOUND', 'Results come as .csv or .jsonl.');
    }
    const lines: string[] = csv ? [BULK_RESULTS_CSV_HEADER] : [];
    let after: number | undefined;
    do {
      const page = await services.bulkInquiries.results(status.bulkNumber, after, 10_000);
      for (const result of page.results)
        lines.push(csv ? bulkResultCsvRow(result) : `${JSON.stringify(result)}\n`);
      after = page.next;
    } while (after !== undefined);
    return reply
      .type(csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="${status.bulkNumber}.${csv ? 'csv' : 'jsonl'}"`)
      .send(lines.join(''));
  });

  // ── 提供記録 ─────────────────────────────────────────────────────────────────────────────
  const DateField = z.union([z.literal(''), z.iso.date()]);
  app.get('/records', { preHandler: guard }, async (request, reply) => {
    const directory = await directoryNow();
    const staff = staffConsole.staff(request);
    const t = pick(CLERK, staff.lang);
    const raw = request.query as Record<string, unknown>;
    const text = (key: string) => (typeof raw[key] === 'string' ? raw[key].trim() : '');
    const query: RecordQuery = {
      from: text('from'),
      to: text('to'),
      procedureId: text('procedureId'),
      outcome: text('outcome'),
      processingNumber: text('processingNumber'),
      page: Math.max(1, Math.min(200, Number.parseInt(text('page') || '1', 10) || 1)),
    };
    const valid =
      DateField.safeParse(query.from).success &&
      DateField.safeParse(query.to).success &&
      (query.procedureId === '' || legalTable.findProcedure(query.procedureId) !== undefined) &&
      (query.outcome === '' ||
        ['pending', 'provided', 'not_held', 'refused', 'failed'].includes(query.outcome)) &&
      (query.processingNumber === '' || ProcessingNumber.safeParse(query.processingNumber).success);
    // Days are Japan's: 記録日 2026-05-01 is from 00:00 JST that day to 00:00 JST the next.
    const dayStart = (day: string, plus = 0) =>
      new Date(new Date(`${day}T00:00:00+09:00`).getTime() + plus * 86_400_000).toISOString();
    const found = valid
      ? await services.records.searchProvisionRecords(
          {
            ...(query.from ? { from: dayStart(query.from) } : {}),
            ...(query.to ? { to: dayStart(query.to, 1) } : {}),
            ...(query.procedureId ? { procedureId: query.procedureId } : {}),
            ...(query.outcome ? { outcome: query.outcome } : {}),
            ...(query.processingNumber ? { processingNumber: query.processingNumber } : {}),
          },
          (query.page - 1) * PAGE_SIZE,
          PAGE_SIZE,
        )
      : { records: [], more: false };
    const body = recordsPage({
      lang: staff.lang,
      legal: legalTable,
      directory,
      procedures: legalTable.procedures,
      query,
      records: found.records,
      more: found.more,
      error: valid ? undefined : t.badSearch,
    });
    return reply
      .status(valid ? 200 : 400)
      .type(HTML)
      .header('cache-control', 'no-store')
      .send(send(request, t.records, body).page);
  });

  return app;
}
