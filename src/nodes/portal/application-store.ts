/**
 * ぴったりサービス's storage port (the applications and the signing requests that lead to them), apart
 * from `store.ts` so that the services of the portal grow side by side. `kysely-application-store.ts`
 * adapts SQLite and PostgreSQL to it (migration `0003-onestop-applications`).
 *
 * Privacy in the types: no field for an Individual Number. An application holds what the resident
 * typed and signed, and its CMS SignedData, whose signing certificate carries the basic four
 * information: that is the real system's design, and why the municipality may read it.
 */

/** A signing request's life: made by the form, taken by the reader's answer once, then done or refused. */
export type SigningRequestState = 'pending' | 'claimed' | 'done' | 'refused';

/** An application prepared and awaiting the card's signature at the reader (10 minutes). */
export interface SigningRequestRow {
  /** 32 random bytes, base64url: the capability the reader fetches the document and answers with. */
  requestId: string;
  personId: string;
  municipalityId: string;
  /** The catalogue's procedure id (`kosodate-01`). */
  procedureId: string;
  /** The application's canonical bytes (UTF-8 JSON): what the card must sign, byte for byte. */
  content: Uint8Array;
  createdAt: Date;
  expiresAt: Date;
  state: SigningRequestState;
  /** Once done: the application it became. */
  applicationNumber: string | undefined;
}

export interface ApplicationRow {
  applicationNumber: string;
  municipalityId: string;
  procedureId: string;
  procedureName: string;
  legalProcedureId: string | undefined;
  personId: string;
  content: Uint8Array;
  signedData: Uint8Array;
  /** The signing certificate's serial (lower-case hex) and the user-authentication one J-LIS linked. */
  signingSerial: string;
  authenticationSerial: string;
  receivedAt: Date;
  downloadedAt: Date | undefined;
}

export interface ApplicationStore {
  insertSigningRequest(row: SigningRequestRow): Promise<void>;
  findSigningRequest(requestId: string): Promise<SigningRequestRow | undefined>;
  /** Compare-and-set: moves only from `from`; returns whether it moved. */
  moveSigningRequest(
    requestId: string,
    from: SigningRequestState,
    to: SigningRequestState,
    applicationNumber?: string,
  ): Promise<boolean>;
  /** Delete requests that expired before `before`. */
  purgeSigningRequests(before: Date): Promise<number>;

  insertApplication(row: ApplicationRow): Promise<void>;
  /** One of the municipality's applications (another municipality's is not found). */
  findApplication(municipalityId: string, applicationNumber: string): Promise<ApplicationRow | undefined>;
  /** The municipality's applications, newest first; `downloaded` true/false filters. */
  listApplications(
    municipalityId: string,
    filter: { downloaded?: boolean | undefined; limit: number },
  ): Promise<ApplicationRow[]>;
  /** Mark downloaded, once (the first time stays). */
  markDownloaded(municipalityId: string, applicationNumbers: readonly string[], at: Date): Promise<void>;
  /** The person's own applications, newest first. */
  listPersonApplications(personId: string, limit: number): Promise<ApplicationRow[]>;
}
