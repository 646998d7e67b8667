/**
 * For J-LIS's tests over HTTP: a JSON POST to its admin API, and a resident numbered with a card
 * applied for, issued and delivered, as a municipality's clerk would do it. For other nodes' tests
 * (the portal's login): J-LIS's JPKI CA and OCSP responder, started here (`startTestJpki`), so that
 * they reach J-LIS through this module and not through its stores and services.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import type { CardIssued, CardView } from '../../protocol/cards.ts';
import { fixedClock, type Clock } from '../../shared/clock.ts';
import { nodeDatabase, openDatabase } from '../../shared/db.ts';
import { listen } from '../../shared/http.ts';
import { silentLogger } from '../../shared/logger.ts';
import { openJpkiAuthority } from './jpki/authority.ts';
import { createKyselyJpkiStore } from './jpki/kysely-store.ts';
import { JPKI_OID } from './jpki/profiles.ts';
import { makeTestCard, yearsAfter, type TestCard } from './jpki/test-support.ts';
import { createJpkiPublicationApp } from './jpki-publication.ts';
import { createKyselyJlisStore, type JlisDatabase } from './kysely-store.ts';
import { migrateJlisDatabase } from './migrations.ts';
import { JpkiCertificateService } from './service/jpki-certificates.ts';
import { ResidentService } from './service/residents.ts';

export type JsonPost = <T = unknown>(path: string, body: unknown) => Promise<{ status: number; json: T }>;

/** POST JSON to the J-LIS listening at the URL `baseUrl()` gives (read at each call). */
export function jsonPost(baseUrl: () => string): JsonPost {
  return async <T = unknown>(path: string, body: unknown) => {
    const response = await fetch(new URL(path, baseUrl()), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as T };
  };
}

/** A resident with a delivered card and both certificates: the card id, its archive, S and R. */
export async function deliveredCardHolder(
  post: JsonPost,
  resident: object,
  secrets: { pin: string; signingPassword: string },
): Promise<{ residentRecordCode: string; cardId: string; archive: string; S: string; R: string }> {
  const { json: numbered } = await post<{ residentRecordCode: string }>('/admin/v1/residents', resident);
  const residentRecordCode = numbered.residentRecordCode;
  const { json: applied } = await post<CardView>('/admin/v1/card-applications', { residentRecordCode });
  const issued = await post<CardIssued>('/admin/v1/card-issuances', { cardId: applied.cardId, ...secrets });
  expect(issued.status).toBe(201);
  expect((await post('/admin/v1/card-deliveries', { cardId: applied.cardId })).status).toBe(200);
  return {
    residentRecordCode,
    cardId: applied.cardId,
    archive: issued.json.archive,
    S: issued.json.card.signingSerial!,
    R: issued.json.card.authenticationSerial!,
  };
}

/** The policy J-LIS's CA writes into a user-authentication certificate (利用者証明用電子証明書). */
export const JPKI_AUTHENTICATION_POLICY = JPKI_OID.authenticationPolicy;

/** A card J-LIS issued: its keys (held "inside the card") and its user-authentication certificate. */
export interface TestCardHolder {
  keys: TestCard;
  certificateDer: Uint8Array;
  cardId: string;
}

/**
 * J-LIS's JPKI alone, for another node's tests: its CA (under `dir`), its certificates on a SQLite
 * file there, and its publication (CA bundle, OCSP responder) over real HTTP on a free port.
 */
export interface TestJpki {
  /** `${publicationUrl}/jpki/v1/ca-bundle.pem`, `${publicationUrl}/jpki/v1/ocsp`. */
  publicationUrl: string;
  /** A new resident (named `name`) with a card `cardId` and both certificates, valid five years. */
  issueCard(cardId: string, name: string): Promise<TestCardHolder>;
  /** Revoke both certificates of a card, as when it is reported lost. */
  revokeCard(cardId: string): Promise<void>;
  /** The card a certificate serial was issued for; undefined for one this CA never issued. */
  cardOf(serial: string): Promise<string | undefined>;
  close(): Promise<void>;
}

export async function startTestJpki(dir: string, clock: Clock = fixedClock(new Date())): Promise<TestJpki> {
  mkdirSync(dir, { recursive: true });
  const db: Kysely<JlisDatabase> = await openDatabase<JlisDatabase>(
    nodeDatabase(undefined, join(dir, 'jlis.sqlite'), 'jlis'),
  );
  await migrateJlisDatabase(db);
  const authority = await openJpkiAuthority({ dir: join(dir, 'jpki'), clock });
  const store = createKyselyJlisStore(db);
  const certificates = new JpkiCertificateService({
    store: createKyselyJpkiStore(db),
    residents: store,
    authority,
    clock,
    logger: silentLogger(),
  });
  const residents = new ResidentService({
    store,
    clock,
    logger: silentLogger(),
    numberingKey: new Uint8Array(32).fill(7),
    jpki: certificates,
  });
  const publication = createJpkiPublicationApp(certificates, authority, silentLogger());
  const publicationUrl = await listen(publication, 0);
  return {
    publicationUrl,
    async issueCard(cardId, name) {
      const info = {
        name,
        address: '東京都千代田区霞が関2丁目1番1号',
        dateOfBirth: '1985-04-01',
        sex: 'female' as const,
      };
      const { residentRecordCode } = await residents.registerResident(info);
      const keys = await makeTestCard();
      const issued = await certificates.issuePair({
        residentRecordCode,
        cardId,
        fourInformation: info,
        signingPublicKeySpki: keys.signingPublicKeySpki,
        authenticationPublicKeySpki: keys.authenticationPublicKeySpki,
        notAfter: yearsAfter(clock.now(), 5),
      });
      return { keys, certificateDer: issued.authentication.certificateDer, cardId };
    },
    revokeCard: (cardId) => certificates.revokeForCard(cardId, 'loss'),
    cardOf: async (serial) => (await certificates.find(serial))?.cardId,
    async close() {
      await publication.close();
      await db.destroy();
    },
  };
}
