/**
 * The demo network's PKI, set up with no extra step: `renkei start` and `renkei demo` create the CA
 * under `<data dir>/pki` on first use (`renkei pki init`) and issue every party the certificates it
 * lacks (`renkei pki issue`): the core, J-LIS, each institution, each institution's business system
 * (`<id>:business`), one demo operator per role (`operator:<role>:demo`), and, when the network
 * runs it, the corporate-number service (`nta`) and the NTA's business system (`nta:business`). A real deployment runs
 * those commands itself, one party at a time, on the machine that holds the issuing CA's key.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initPki, issuePartyCertificates, listCertificates, refreshCrl } from '../trust/pki/authority.ts';
import { pkiPaths } from '../trust/pki/files.ts';
import type { PartyRole } from '../trust/pki/profiles.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import type { WorldInstitution } from './world.ts';
import { NTA_PARTY } from '../nodes/corporate/corporate.ts';

export const OPERATOR_ROLES = ['registry', 'legal', 'keys', 'audit', 'monitoring'] as const;

/** The demo operator's credential for one role. */
export function demoOperator(role: (typeof OPERATOR_ROLES)[number]): string {
  return `operator:${role}:demo`;
}

/** An institution's business system's credential in the demo. */
export function businessParty(institutionId: string): string {
  return `${institutionId}:business`;
}

export function pkiDirOf(dataDir: string): string {
  return join(dataDir, 'pki');
}

/**
 * Make sure the PKI exists and every party of the network has a valid identity certificate; issue
 * what is missing, one after another (the CA's lock does not queue). Re-signs the CRL when it is
 * older than half its life, so nodes never see it expire while the demo runs.
 */
export async function ensureNetworkPki(options: {
  dataDir: string;
  institutions: readonly WorldInstitution[];
  /** Also the corporate-number service (`nta`) and the NTA's business system (`nta:business`). */
  corporate?: boolean;
  /** Also the Myna Portal (`portal`, role `portal`). */
  portal?: boolean;
  clock?: Clock;
}): Promise<string> {
  const clock = options.clock ?? systemClock;
  const dir = pkiDirOf(options.dataDir);
  if (!existsSync(pkiPaths(dir).config)) await initPki({ dir, clock });
  const parties: [string, PartyRole][] = [
    ['core', 'core'],
    ['jlis', 'jlis'],
    ...options.institutions.flatMap((i): [string, PartyRole][] => [
      [i.id, 'institution'],
      [businessParty(i.id), 'business'],
    ]),
    ...OPERATOR_ROLES.map((role): [string, PartyRole] => [demoOperator(role), 'operator']),
    // The NTA runs the corporate-number service: its node holds an institution's kind of certificate
    // (the NTA is a public body like the network's institutions), its staff a business credential.
    ...(options.corporate
      ? ([
          [NTA_PARTY, 'institution'],
          [businessParty(NTA_PARTY), 'business'],
        ] as [string, PartyRole][])
      : []),
    ...(options.portal ? ([['portal', 'portal']] as [string, PartyRole][]) : []),
  ];
  const valid = new Set(
    listCertificates({ dir, clock })
      .filter((c) => c.status === 'valid' && c.kind === 'identity')
      .map((c) => c.partyId),
  );
  for (const [partyId, role] of parties) {
    if (valid.has(partyId)) continue;
    await issuePartyCertificates({ dir, partyId, role, hosts: ['127.0.0.1', 'localhost'], clock });
  }
  await refreshCrl({ dir, clock });
  return dir;
}
