/**
 * The one place the X.509 libraries are loaded and pointed at Node's WebCrypto.
 *
 * @peculiar/x509 uses TypeScript decorators through tsyringe, which need `reflect-metadata` loaded
 * before the library's first import; importing it here, and x509 only from here, keeps that order
 * true whichever of our modules is loaded first. Its crypto provider is a library-wide default (the
 * library offers no other way to reach WebCrypto from its parsers), set once to Node's own.
 *
 * pkijs needs no set-up: it finds Node's WebCrypto at `globalThis.crypto` (Node 20 and later) on its
 * own. We considered passing it an explicit `CryptoEngine` on each call, but pkijs 4's engine type
 * no longer matches @types/node's SubtleCrypto, and the cast would hide any real mismatch.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import * as pkijs from 'pkijs';

x509.cryptoProvider.set(webcrypto);

export { x509, pkijs };

/** ECDSA P-256 with SHA-256: the one signature algorithm of the network's PKI. */
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const satisfies webcrypto.EcdsaParams;

/** The key algorithm of every signing key (CAs, OCSP responder, party identities). */
export const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const satisfies webcrypto.EcKeyGenParams;

/** The key algorithm of every party's encryption key (JWE ECDH-ES). */
export const ECDH_P256 = { name: 'ECDH', namedCurve: 'P-256' } as const satisfies webcrypto.EcKeyGenParams;
