/**
 * ぴったりサービス's storage in dialect-agnostic Kysely (SQLite or PostgreSQL), on the portal's
 * database. Bytes are stored as base64 text, the one type both dialects' schema builders share; times
 * as ISO strings (UTC), which compare in order as text.
 */
import type { Kysely, Selectable } from 'kysely';
import type {
  ApplicationRow,
  ApplicationStore,
  SigningRequestRow,
  SigningRequestState,
} from './application-store.ts';

interface SigningRequestsTable {
  request_id: string;
  person_id: string;
  municipality_id: string;
  procedure_id: string;
  content: string;
  created_at: string;
  expires_at: string;
  state: string;
  application_number: string | null;
}

interface ApplicationsTable {
  application_number: string;
  municipality_id: string;
  procedure_id: string;
  procedure_name: string;
  legal_procedure_id: string | null;
  person_id: string;
  content: string;
  signed_data: string;
  signing_serial: string;
  authentication_serial: string;
  received_at: string;
  downloaded_at: string | null;
}

export interface ApplicationDatabase {
  onestop_signing_requests: SigningRequestsTable;
  onestop_applications: ApplicationsTable;
}

const iso = (date: Date) => date.toISOString();
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

function toRequest(row: Selectable<SigningRequestsTable>): SigningRequestRow {
  return {
    requestId: row.request_id,
    personId: row.person_id,
    municipalityId: row.municipality_id,
    procedureId: row.procedure_id,
    content: bytes(row.content),
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    state: row.state as SigningRequestState,
    applicationNumber: row.application_number ?? undefined,
  };
}

function toApplication(row: Selectable<ApplicationsTable>): ApplicationRow {
  return {
    applicationNumber: row.application_number,
    municipalityId: row.municipality_id,
    procedureId: row.procedure_id,
    procedureName: row.procedure_name,
    legalProcedureId: row.legal_procedure_id ?? undefined,
    personId: row.person_id,
    content: bytes(row.content),
    signedData: bytes(row.signed_data),
    signingSerial: row.signing_serial,
    authenticationSerial: row.authentication_serial,
    receivedAt: new Date(row.received_at),
    downloadedAt: row.downloaded_at === null ? undefined : new Date(row.downloaded_at),
  };
}

export function createKyselyApplicationStore(given: Kysely<unknown>): ApplicationStore {
  const db = given as Kysely<ApplicationDatabase>;
  return {
    async insertSigningRequest(row) {
      await db
        .insertInto('onestop_signing_requests')
        .values({
          request_id: row.requestId,
          person_id: row.personId,
          municipality_id: row.municipalityId,
          procedure_id: row.procedureId,
          content: b64(row.content),
          created_at: iso(row.createdAt),
          expires_at: iso(row.expiresAt),
          state: row.state,
          application_number: row.applicationNumber ?? null,
        })
        .execute();
    },
    async findSigningRequest(requestId) {
      const row = await db
        .selectFrom('onestop_signing_requests')
        .selectAll()
        .where('request_id', '=', requestId)
        .executeTakeFirst();
      return row && toRequest(row);
    },
    async moveSigningRequest(requestId, from, to, applicationNumber) {
      const result = await db
        .updateTable('onestop_signing_requests')
        .set({
          state: to,
          ...(applicationNumber === undefined ? {} : { application_number: applicationNumber }),
        })
        .where('request_id', '=', requestId)
        .where('state', '=', from)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async purgeSigningRequests(before) {
      const result = await db
        .deleteFrom('onestop_signing_requests')
        .where('expires_at', '<', iso(before))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async insertApplication(row) {
      await db
        .insertInto('onestop_applications')
        .values({
          application_number: row.applicationNumber,
          municipality_id: row.municipalityId,
          procedure_id: row.procedureId,
          procedure_name: row.procedureName,
          legal_procedure_id: row.legalProcedureId ?? null,
          person_id: row.personId,
          content: b64(row.content),
          signed_data: b64(row.signedData),
          signing_serial: row.signingSerial,
          authentication_serial: row.authenticationSerial,
          received_at: iso(row.receivedAt),
          downloaded_at: row.downloadedAt === undefined ? null : iso(row.downloadedAt),
        })
        .execute();
    },
    async findApplication(municipalityId, applicationNumber) {
      const row = await db
        .selectFrom('onestop_applications')
        .selectAll()
        .where('municipality_id', '=', municipalityId)
        .where('application_number', '=', applicationNumber)
        .executeTakeFirst();
      return row && toApplication(row);
    },
    async listApplications(municipalityId, filter) {
      let query = db
        .selectFrom('onestop_applications')
        .selectAll()
        .where('municipality_id', '=', municipalityId);
      if (filter.downloaded === true) query = query.where('downloaded_at', 'is not', null);
      if (filter.downloaded === false) query = query.where('downloaded_at', 'is', null);
      const rows = await query
        .orderBy('received_at', 'desc')
        .orderBy('application_number', 'desc')
        .limit(filter.limit)
        .execute();
      return rows.map(toApplication);
    },
    async markDownloaded(municipalityId, applicationNumbers, at) {
      if (applicationNumbers.length === 0) return;
      await db
        .updateTable('onestop_applications')
        .set({ downloaded_at: iso(at) })
        .where('municipality_id', '=', municipalityId)
        .where('application_number', 'in', [...applicationNumbers])
        .where('downloaded_at', 'is', null)
        .execute();
    },
    async listPersonApplications(personId, limit) {
      const rows = await db
        .selectFrom('onestop_applications')
        .selectAll()
        .where('person_id', '=', personId)
        .orderBy('received_at', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toApplication);
    },
  };
}
