/**
 * ぴったりサービス's online application (電子申請) and the municipality's 申請データダウンロード.
 *
 * 1. `validate` checks the form against the procedure's fields (declared in the catalogue, data not
 *    code; a zod schema is built from them). The attachments the network makes unnecessary are never
 *    fields: the form cannot ask for them.
 * 2. `prepare` makes the application's canonical bytes (UTF-8 JSON, made once and stored: the card
 *    signs exactly these) and a signing request, a 256-bit capability valid 10 minutes. The bytes name
 *    the portal as the relying party (`relyingPartyId: "portal"`): the signed application is also the
 *    resident's consent that the portal link the signing certificate at J-LIS, which is what J-LIS asks
 *    of a relying party before it answers S→R.
 * 3. The card reader fetches the document (`document`) and answers with a CMS SignedData made at the
 *    card with the signing key (署名用電子証明書) after the 6–16 character password.
 * 4. `receiveSignature` takes the request once, then checks: the SignedData's signature, its chain to
 *    J-LIS's signing CA, the signing policy, the content byte for byte, the certificate's status at
 *    J-LIS (OCSP, fail closed), and, through J-LIS's linking service (link, then S→R), that the
 *    user-authentication certificate issued with it is one this person logged in with: an application
 *    signed with someone else's card is refused (ERR_IDENTITY_MISMATCH). Each refusal is recorded in the
 *    security log like any other.
 * 5. The municipality's systems list, fetch one or download in bulk; each application is checked again
 *    at download (signature, status now: 署名用電子証明書有効性確認) and carries the user-authentication
 *    serial (利用者証明用電子証明書シリアル番号取得).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { z } from 'zod';
import type { Client } from '../../../protocol/api.ts';
import { checkOcsp } from '../../../protocol/ocsp-client.ts';
import type {
  ApplicationDownload,
  ApplicationState,
  ApplicationSummary,
  ApplicationVerification,
} from '../../../protocol/onestop-applications.ts';
import type { jpkiApi } from '../../../protocol/routes.ts';
import type { SecurityEventSink } from '../../../protocol/server.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import { verifySignedData } from '../../../trust/pki/cms.ts';
import { x509 } from '../../../trust/pki/x509.ts';
import type { ApplicationRow, ApplicationStore, SigningRequestRow } from '../application-store.ts';
import type { FormField, FinderResult } from './finder.ts';
import type { JpkiTrust } from './jpki-verifier.ts';

/** The certificate policy of a JPKI signing certificate (署名用, class 20), as J-LIS's CA writes it. */
export const SIGNING_CERTIFICATE_POLICY = '1.2.392.200149.8.5.1.1.20';
export const APPLICATION_TYPE = 'renkei.onestop-application.v1';
export const SIGNING_REQUEST_TTL_MS = 10 * 60_000;
const LIST_LIMIT = 500;

export interface ApplicationServiceDeps {
  store: ApplicationStore;
  /** The person who logged in with a user-authentication certificate (the portal's own store). */
  personOfSerial: (serial: string) => Promise<string | undefined>;
  trust: JpkiTrust;
  /** J-LIS's linking service, the portal being a registered relying party. */
  jpki: Client<typeof jpkiApi>;
  /** The party id the portal is registered under at J-LIS (its certificate's). */
  relyingPartyId: string;
  clock: Clock;
  logger: Logger;
  record?: SecurityEventSink | undefined;
}

export type FormValues = Record<string, string | number>;
export type FormErrors = Record<string, { ja: string; en: string }>;

/** The document the reader shows before the card signs it. */
export interface SigningDocument {
  content: Uint8Array;
  /** The municipality's code and the catalogue's procedure id (`kosodate-01`). */
  municipalityId: string;
  procedureId: string;
  municipalityName: string;
  procedureName: string;
  /** Each field as signed: its name, its label (Japanese) and the value given. */
  lines: { name: string; label: string; value: string }[];
  attachmentsOmitted: string[];
  expiresAt: Date;
}

/** The zod schema of one field's value, as a form posts it (text). */
function fieldSchema(field: FormField): z.ZodType<string | number | undefined> {
  const blank = z
    .string()
    .trim()
    .length(0)
    .transform(() => undefined);
  let value: z.ZodType<string | number>;
  switch (field.type) {
    case 'text':
    case 'textarea': {
      let text = z
        .string()
        .trim()
        .min(1)
        .max(field.maxLength ?? (field.type === 'text' ? 200 : 1000))
        .refine((s) => ![...s].some((c) => isControl(c)), 'control characters');
      if (field.type === 'text') text = text.refine((s) => !/[\r\n]/.test(s), 'one line');
      value = field.pattern ? text.refine((s) => new RegExp(field.pattern!, 'u').test(s)) : text;
      break;
    }
    case 'date':
      value = z
        .string()
        .trim()
        .regex(/^\d{4}-\d{2}-\d{2}$/)
        .refine((s) => {
          const d = new Date(`${s}T00:00:00Z`);
          return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
        });
      break;
    case 'integer':
      value = z
        .string()
        .trim()
        .regex(/^\d{1,9}$/)
        .transform(Number)
        .pipe(
          z
            .number()
            .int()
            .min(field.min ?? 0)
            .max(field.max ?? 999_999_999),
        );
      break;
    case 'select':
      value = z.enum(field.options as [string, ...string[]]);
      break;
  }
  return field.required ? value : z.union([blank, value]);
}

function fieldError(field: FormField, given: string | undefined): { ja: string; en: string } {
  if (given === undefined || given.trim() === '') {
    return { ja: `${field.label}を入力してください。`, en: `Enter ${field.labelEn.toLowerCase()}.` };
  }
  switch (field.type) {
    case 'date':
      return { ja: '日付を正しく入力してください。', en: 'Enter a valid date.' };
    case 'integer':
      return {
        ja: `${field.min ?? 0}から${field.max ?? 999_999_999}までの数字で入力してください。`,
        en: `Enter a number from ${field.min ?? 0} to ${field.max ?? 999_999_999}.`,
      };
    case 'select':
      return { ja: '選択肢から選んでください。', en: 'Choose one of the options.' };
    case 'text':
    case 'textarea':
      return field.hint
        ? { ja: `入力の形式が違います（${field.hint}）。`, en: 'The format is wrong.' }
        : {
            ja: `${field.maxLength ?? 200}文字以内で入力してください。`,
            en: `At most ${field.maxLength ?? 200} characters, one line.`,
          };
  }
}

export class ApplicationService {
  constructor(private readonly deps: ApplicationServiceDeps) {}

  /**
   * Check a form's fields against the procedure's declaration (server side; the page's `required`
   * and `pattern` attributes are a convenience only). Fields the form does not declare are ignored.
   */
  validate(
    procedure: FinderResult['procedure'],
    given: Record<string, string | undefined>,
  ): { values: FormValues } | { errors: FormErrors } {
    const values: FormValues = {};
    const errors: FormErrors = {};
    for (const field of procedure.form) {
      const parsed = fieldSchema(field).safeParse(given[field.name] ?? '');
      if (!parsed.success) errors[field.name] = fieldError(field, given[field.name]);
      else if (parsed.data !== undefined) values[field.name] = parsed.data;
    }
    return Object.keys(errors).length > 0 ? { errors } : { values };
  }

  /** Make the application's canonical bytes and a signing request for them. */
  async prepare(input: {
    personId: string;
    found: FinderResult;
    values: FormValues;
    /** The 申請API: the registered service the resident applies through (signed with the rest). */
    via?: { clientId: string; name: string } | undefined;
  }): Promise<SigningRequestRow> {
    const { found, values } = input;
    const now = this.deps.clock.now();
    const requestId = randomBytes(32).toString('base64url');
    // Built in a fixed key order, once: these bytes are stored and signed, never rebuilt.
    const document = {
      type: APPLICATION_TYPE,
      relyingPartyId: this.deps.relyingPartyId,
      requestId,
      municipality: { id: found.municipality.id, name: found.municipality.name },
      procedure: {
        id: found.procedure.id,
        name: found.procedure.name,
        ...(found.procedure.procedureId === undefined
          ? {}
          : { legalProcedureId: found.procedure.procedureId }),
      },
      attachmentsOmitted: found.procedure.attachmentsOmitted,
      fields: found.procedure.form
        .filter((f) => values[f.name] !== undefined)
        .map((f) => ({ name: f.name, label: f.label, value: values[f.name] })),
      ...(input.via === undefined ? {} : { submittedVia: input.via }),
      preparedAt: now.toISOString(),
    };
    const row: SigningRequestRow = {
      requestId,
      personId: input.personId,
      municipalityId: found.municipality.id,
      procedureId: found.procedure.id,
      content: new Uint8Array(Buffer.from(JSON.stringify(document), 'utf8')),
      createdAt: now,
      expiresAt: new Date(now.getTime() + SIGNING_REQUEST_TTL_MS),
      state: 'pending',
      applicationNumber: undefined,
    };
    await this.deps.store.purgeSigningRequests(new Date(now.getTime() - SIGNING_REQUEST_TTL_MS));
    await this.deps.store.insertSigningRequest(row);
    return row;
  }

  /** A pending request of this person's (for the page that sends them to the reader). */
  async pendingOf(personId: string, requestId: string): Promise<SigningRequestRow | undefined> {
    const row = await this.deps.store.findSigningRequest(requestId);
    return row && row.personId === personId ? row : undefined;
  }

  /**
   * What the reader shows and the card signs, for a pending request. Errors: ERR_MESSAGE_STALE
   * (unknown, expired or answered already).
   */
  async document(requestId: string): Promise<SigningDocument> {
    const row = await this.deps.store.findSigningRequest(requestId);
    if (!row || row.state !== 'pending' || row.expiresAt < this.deps.clock.now()) {
      throw new RenkeiError('ERR_MESSAGE_STALE', 'This application is not awaiting a signature.');
    }
    const parsed = JSON.parse(Buffer.from(row.content).toString('utf8')) as {
      municipality: { name: string };
      procedure: { name: string };
      attachmentsOmitted: string[];
      fields: { name: string; label: string; value: string | number }[];
    };
    return {
      content: row.content,
      municipalityId: row.municipalityId,
      procedureId: row.procedureId,
      municipalityName: parsed.municipality.name,
      procedureName: parsed.procedure.name,
      lines: parsed.fields.map((f) => ({ name: f.name, label: f.label, value: String(f.value) })),
      attachmentsOmitted: parsed.attachmentsOmitted,
      expiresAt: row.expiresAt,
    };
  }

  /**
   * The card's answer: the CMS SignedData over the request's bytes. Returns the application made.
   * Errors: ERR_MESSAGE_STALE, ERR_MESSAGE_REPLAYED, ERR_VALIDATION (not a SignedData, other
   * content), ERR_SIGNATURE_INVALID, ERR_CERT_UNTRUSTED (not J-LIS's signing CA, not a signing
   * certificate), ERR_CERT_EXPIRED, ERR_CERT_REVOKED, ERR_REVOCATION_UNAVAILABLE, ERR_IDENTITY_MISMATCH
   * (another person's card), and J-LIS's refusals of the link or the lookup.
   */
  async receiveSignature(input: {
    requestId: string;
    signedData: Uint8Array;
    remoteAddress: string | null;
  }): Promise<ApplicationRow> {
    const { store, clock } = this.deps;
    try {
      const row = await store.findSigningRequest(input.requestId);
      if (!row || row.expiresAt < clock.now()) {
        throw new RenkeiError('ERR_MESSAGE_STALE', 'This application is not awaiting a signature.');
      }
      if (!(await store.moveSigningRequest(row.requestId, 'pending', 'claimed'))) {
        throw new RenkeiError('ERR_MESSAGE_REPLAYED', 'This application was signed already.');
      }
      try {
        const application = await this.accept(row, input.signedData);
        await store.moveSigningRequest(row.requestId, 'claimed', 'done', application.applicationNumber);
        this.deps.logger.info({ municipality: row.municipalityId }, 'onestop: an application received');
        return application;
      } catch (error) {
        await store.moveSigningRequest(row.requestId, 'claimed', 'refused');
        throw error;
      }
    } catch (error) {
      await this.deps.record?.({
        at: clock.now().toISOString(),
        route: 'portal.onestopSignature',
        partyId: null,
        claimedPartyId: null,
        code: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL',
        remoteAddress: input.remoteAddress,
      });
      throw error;
    }
  }

  /** The application a done request became, if it is this person's. */
  async receivedFor(personId: string, requestId: string): Promise<ApplicationRow | undefined> {
    const row = await this.deps.store.findSigningRequest(requestId);
    if (!row || row.personId !== personId || row.state !== 'done' || !row.applicationNumber) return undefined;
    return this.deps.store.findApplication(row.municipalityId, row.applicationNumber);
  }

  listMine(personId: string): Promise<ApplicationRow[]> {
    return this.deps.store.listPersonApplications(personId, 100);
  }

  /** 申請データの一覧: the municipality's applications. */
  async list(municipalityId: string, state: ApplicationState | undefined): Promise<ApplicationSummary[]> {
    const rows = await this.deps.store.listApplications(municipalityId, {
      downloaded: state === undefined ? undefined : state === 'downloaded',
      limit: LIST_LIMIT,
    });
    return rows.map(summaryOf);
  }

  /** One application, checked now, marked downloaded. Errors: ERR_UNKNOWN_APPLICATION. */
  async download(municipalityId: string, applicationNumber: string): Promise<ApplicationDownload> {
    const row = await this.deps.store.findApplication(municipalityId, applicationNumber);
    if (!row) throw unknownApplication();
    const at = this.deps.clock.now();
    await this.deps.store.markDownloaded(municipalityId, [row.applicationNumber], at);
    return this.downloaded(row, at);
  }

  /** 一括ダウンロード: every new application, or those numbered. Errors: ERR_UNKNOWN_APPLICATION. */
  async downloadMany(
    municipalityId: string,
    applicationNumbers: readonly string[] | undefined,
  ): Promise<ApplicationDownload[]> {
    const { store, clock } = this.deps;
    let rows: ApplicationRow[];
    if (applicationNumbers === undefined) {
      rows = await store.listApplications(municipalityId, { downloaded: false, limit: LIST_LIMIT });
    } else {
      rows = [];
      for (const number of new Set(applicationNumbers)) {
        const row = await store.findApplication(municipalityId, number);
        if (!row) throw unknownApplication();
        rows.push(row);
      }
    }
    const at = clock.now();
    await store.markDownloaded(
      municipalityId,
      rows.map((r) => r.applicationNumber),
      at,
    );
    const out: ApplicationDownload[] = [];
    for (const row of rows) out.push(await this.downloaded(row, at));
    return out;
  }

  private async downloaded(row: ApplicationRow, at: Date): Promise<ApplicationDownload> {
    return {
      ...summaryOf({ ...row, downloadedAt: row.downloadedAt ?? at }),
      content: Buffer.from(row.content).toString('base64'),
      signedData: Buffer.from(row.signedData).toString('base64'),
      verification: await this.verify(row),
    };
  }

  /**
   * The checks of an application at download: the signature over its stored bytes, then the signing
   * certificate's status at J-LIS now. Never throws: a ✗ is an answer, with its code.
   */
  async verify(
    row: Pick<ApplicationRow, 'content' | 'signedData' | 'signingSerial' | 'authenticationSerial'>,
  ): Promise<ApplicationVerification> {
    const { trust, clock } = this.deps;
    const at = clock.now();
    const base = {
      signingSerial: row.signingSerial,
      authenticationSerial: row.authenticationSerial,
      checkedAt: at.toISOString(),
    };
    let certificate: x509.X509Certificate;
    try {
      const verified = await verifySignedData(row.signedData, {
        root: trust.root,
        issuers: [trust.signingCa],
        at,
        detachedContent: undefined,
      });
      if (!sameBytes(verified.content, row.content)) {
        return { ...base, signature: 'invalid', certificateStatus: 'unknown', code: 'ERR_SIGNATURE_INVALID' };
      }
      certificate = verified.certificate;
    } catch (error) {
      const code = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
      if (code === 'ERR_CERT_EXPIRED' || code === 'ERR_CERT_NOT_YET_VALID') {
        return { ...base, signature: 'valid', certificateStatus: 'expired', code };
      }
      if (code === 'ERR_CERT_UNTRUSTED')
        return { ...base, signature: 'invalid', certificateStatus: 'untrusted', code };
      return { ...base, signature: 'invalid', certificateStatus: 'unknown', code };
    }
    try {
      const status = await checkOcsp({
        url: trust.ocspUrl,
        certificate,
        issuer: trust.signingCa,
        at,
        timeoutMs: 5_000,
      });
      return status.status === 'good'
        ? { ...base, signature: 'valid', certificateStatus: 'good' }
        : {
            ...base,
            signature: 'valid',
            certificateStatus: status.status,
            code: status.status === 'revoked' ? 'ERR_CERT_REVOKED' : 'ERR_CERT_UNTRUSTED',
          };
    } catch {
      return {
        ...base,
        signature: 'valid',
        certificateStatus: 'unavailable',
        code: 'ERR_REVOCATION_UNAVAILABLE',
      };
    }
  }

  private async accept(row: SigningRequestRow, signedData: Uint8Array): Promise<ApplicationRow> {
    const { trust, clock, jpki } = this.deps;
    const now = clock.now();
    let ocspFailed = false;
    const verified = await verifySignedData(signedData, {
      root: trust.root,
      issuers: [trust.signingCa],
      at: now,
      status: async (certificate) => {
        try {
          return (
            await checkOcsp({
              url: trust.ocspUrl,
              certificate,
              issuer: trust.signingCa,
              at: now,
              timeoutMs: 5_000,
            })
          ).status;
        } catch {
          ocspFailed = true;
          return 'unknown';
        }
      },
    }).catch((error: unknown) => {
      if (ocspFailed) {
        throw new RenkeiError(
          'ERR_REVOCATION_UNAVAILABLE',
          'J-LIS could not confirm the certificate’s status; try again later.',
        );
      }
      throw error;
    });
    const policies = verified.certificate.getExtension(x509.CertificatePolicyExtension)?.policies ?? [];
    if (!policies.includes(SIGNING_CERTIFICATE_POLICY)) {
      throw new RenkeiError(
        'ERR_CERT_UNTRUSTED',
        'The application was not signed with a signing certificate.',
      );
    }
    if (!sameBytes(verified.content, row.content)) {
      throw new RenkeiError('ERR_VALIDATION', 'The card signed something other than this application.');
    }
    const signedConsent = Buffer.from(signedData).toString('base64');
    const link = await jpki.registerLink({ body: { signedConsent } });
    const linked = await jpki.lookupAuthenticationSerial({ body: { signingSerial: link.signingSerial } });
    if ((await this.deps.personOfSerial(linked.authenticationSerial)) !== row.personId) {
      throw new RenkeiError(
        'ERR_IDENTITY_MISMATCH',
        'The application was signed with another card than the one you logged in with.',
      );
    }
    const found = JSON.parse(Buffer.from(row.content).toString('utf8')) as {
      procedure: { name: string; legalProcedureId?: string };
    };
    const application: ApplicationRow = {
      applicationNumber: newApplicationNumber(now),
      municipalityId: row.municipalityId,
      procedureId: row.procedureId,
      procedureName: found.procedure.name,
      legalProcedureId: found.procedure.legalProcedureId,
      personId: row.personId,
      content: row.content,
      signedData,
      signingSerial: link.signingSerial,
      authenticationSerial: linked.authenticationSerial,
      receivedAt: now,
      downloadedAt: undefined,
    };
    await this.deps.store.insertApplication(application);
    return application;
  }
}

function summaryOf(row: ApplicationRow): ApplicationSummary {
  return {
    applicationNumber: row.applicationNumber,
    procedureId: row.procedureId,
    procedureName: row.procedureName,
    ...(row.legalProcedureId === undefined ? {} : { legalProcedureId: row.legalProcedureId }),
    receivedAt: row.receivedAt.toISOString(),
    state: row.downloadedAt === undefined ? 'new' : 'downloaded',
    ...(row.downloadedAt === undefined ? {} : { downloadedAt: row.downloadedAt.toISOString() }),
  };
}

const NUMBER_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** 申請番号: the JST day and 8 random characters (40 bits), e.g. `20261127-7KQ2M9XD`. */
export function newApplicationNumber(at: Date): string {
  const day = new Date(at.getTime() + 9 * 3_600_000).toISOString().slice(0, 10).replaceAll('-', '');
  let suffix = '';
  for (let i = 0; i < 8; i++) suffix += NUMBER_ALPHABET[randomInt(NUMBER_ALPHABET.length)];
  return `${day}-${suffix}`;
}

/** A control character other than tab and line breaks (which a textarea may hold). */
function isControl(c: string): boolean {
  const code = c.codePointAt(0) ?? 0;
  return (code < 0x20 && c !== '\t' && c !== '\n' && c !== '\r') || code === 0x7f;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

function unknownApplication(): RenkeiError {
  return new RenkeiError('ERR_UNKNOWN_APPLICATION', 'This municipality has no application by this number.');
}
