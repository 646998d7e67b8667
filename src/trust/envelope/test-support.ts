/**
 * Parties with real P-256 keys for the envelope's tests, and a resolver that binds each certificate
 * id to the one party that holds it, as the PKI's resolver will.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { fixedClock } from '../../shared/clock.ts';
import type { ResolveKey } from './verify-message.ts';
import { MemoryReplayGuard } from './replay-guard.ts';

export interface TestParty {
  id: string;
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyPem: string;
  privateKeyPem: string;
}

export function makeParty(id: string, kid = `${id}-sig-01`): TestParty {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    id,
    kid,
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** A resolver that returns a party's key only for its own kid. */
export function resolverFor(...parties: TestParty[]): ResolveKey {
  return (kid, sender) => {
    const party = parties.find((p) => p.kid === kid);
    return Promise.resolve(party !== undefined && party.id === sender ? party.publicKey : undefined);
  };
}

export const T0 = '2026-04-01T09:00:00.000Z';

/** A fixed clock at T0 and a fresh replay guard on it. */
export function frozenTime(): { clock: ReturnType<typeof fixedClock>; replay: MemoryReplayGuard } {
  const clock = fixedClock(T0);
  return { clock, replay: new MemoryReplayGuard({ clock }) };
}

/** A realistic message body (an InquiryRequest as the protocol defines it). */
export const INQUIRY = {
  requesterId: 'jps',
  providerId: '131016',
  personCode: 'AQ' + 'x'.repeat(42),
  clauseNo: '74',
  procedureId: '074-01',
  itemNos: [2],
  nonDisclosure: false,
};

/** A JSON value as one base64url part of a compact JWS or JWE. */
export function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** One base64url part of a compact JWS or JWE, parsed as JSON. */
export function fromB64json(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;
}
