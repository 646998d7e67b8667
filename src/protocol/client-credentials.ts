import type { Clock } from '../shared/clock.ts';
import { RenkeiError } from '../shared/errors.ts';
import type { Caller, NamedRoute } from './api.ts';
import { loadNodeTrust, type NodeTrust } from './node-trust.ts';
import { secureTransport } from './secure-transport.ts';
import type { Transport } from './transport.ts';

/**
 * A transport for someone who is not a node: an operator, a business system, a municipality, the
 * launcher that seeds the demo. It holds one or more credentials (party certificates from the PKI
 * directory) and, for each call, presents the one the route's `callers` accept: an operator's
 * `operator:keys:…` certificate for a key rotation, `operator:audit:…` to read records, an
 * institution's `<id>:business…` certificate for its business API. A route none of them may call is
 * refused here, before anything is sent (ERR_CALLER_NOT_ALLOWED).
 */
export async function credentialTransport(options: {
  pkiDir: string;
  parties: readonly string[];
  clock: Clock;
  /** Where the CRL is read from (these credentials are checked at load, as a node's own are). */
  crl: { url: string } | { file: string };
  timeoutMs?: number;
}): Promise<Transport> {
  const held: { trust: NodeTrust; transport: Transport }[] = [];
  for (const partyId of options.parties) {
    const trust = await loadNodeTrust({
      pkiDir: options.pkiDir,
      partyId,
      clock: options.clock,
      crl: options.crl,
    });
    held.push({
      trust,
      transport: secureTransport(
        trust,
        options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
      ),
    });
  }
  const choose = (route: NamedRoute) => {
    const found = held.find(({ trust }) => route.callers.some((kind) => presents(kind, trust)));
    if (!found) {
      throw new RenkeiError(
        'ERR_CALLER_NOT_ALLOWED',
        `None of the credentials held (${options.parties.join(', ')}) may call ${route.method} ${route.path.replace('::', ':')}.`,
        { allowed: [...route.callers] },
      );
    }
    return found.transport;
  };
  let closing: Promise<void> | undefined;
  return {
    send: (request) => choose(request.route).send(request),
    close: () => (closing ??= Promise.all(held.map((h) => h.transport.close())).then(() => undefined)),
  };
}

function presents(kind: Caller, trust: NodeTrust): boolean {
  const { partyId, role } = trust.self;
  if (kind === 'anyone') return true;
  if (kind === 'business' || kind === 'municipality') return role === 'business';
  // A relying party of JPKI (署名検証者): whether J-LIS registered it is J-LIS's to check.
  if (kind === 'relying-party') return role === 'business' || role === 'institution' || role === 'portal';
  if (kind.startsWith('operator:')) return role === 'operator' && partyId.startsWith(`${kind}:`);
  return role === kind;
}
