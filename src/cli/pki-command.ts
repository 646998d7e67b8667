import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { systemClock } from '../shared/clock.ts';
import { RenkeiError } from '../shared/errors.ts';
import {
  PARTY_ROLES,
  REVOCATION_REASONS,
  initPki,
  issuePartyCertificates,
  renewPartyCertificates,
  type IssuedParty,
  listCertificates,
  pkiPaths,
  refreshCrl,
  renewOcspResponder,
  revokeCertificate,
  type CertificateRecord,
} from '../trust/pki/index.ts';
import { plural, table, wholeNumberOption, type GlobalOptions } from './output.ts';

/**
 * `renkei pki init | issue | renew | revoke | list | crl | renew-ocsp`: the network's own certification authority, kept
 * in `<--data-dir>/pki` (see src/trust/pki/README.md).
 *
 * - `init [--publication-url <url>]` creates the root CA, the issuing CA, the OCSP responder and the
 *   first CRL. ERR_PKI_EXISTS if the directory already holds one (its keys are never overwritten).
 * - `issue --party <id> --role <role> [--host <host>]... [--days <n>]` issues a party's identity and
 *   encryption certificates and keys. ERR_VALIDATION for a malformed id, host or lifetime. Issued
 *   again, it keeps the earlier encryption key (answers sealed to it may be on their way).
 * - `renew --party <id> [--days <n>]` issues them again with the role and hosts of the current
 *   identity certificate. ERR_UNKNOWN_CERTIFICATE when the party has none.
 * - `revoke (--serial <hex> | --party <id>) --reason <reason>` revokes one certificate, or all of a
 *   party's, and publishes a new CRL. ERR_UNKNOWN_CERTIFICATE if the PKI never issued it.
 * - `list` shows every certificate issued: party, role, kind, serial, expiry, status.
 * - `crl` signs a fresh CRL: verifiers refuse one past its nextUpdate (a day), so run it daily.
 * - `renew-ocsp` gives the OCSP responder a new key and one-year certificate; the core picks it up.
 *
 * Every sub-command but `init` fails with ERR_NO_PKI, saying to run `renkei pki init`, when there is
 * no PKI yet. Roles and reasons outside the allowed lists are refused by the option parser, which
 * prints the allowed choices.
 */
export function registerPkiCommand(program: Command): void {
  const pki = program
    .command('pki')
    .description('the network’s certification authority: create it, issue and revoke party certificates');
  const dirOf = () => resolve(program.opts<GlobalOptions>().dataDir, 'pki');

  pki
    .command('init')
    .description('create the root CA, the issuing CA and the OCSP responder in <data dir>/pki')
    .option(
      '--publication-url <url>',
      'base URL of the core, named in certificates as where the CRL and OCSP are',
    )
    .action(async (options: { publicationUrl?: string }) => {
      const dir = dirOf();
      const created = await initPki({ dir, clock: systemClock, publicationUrl: options.publicationUrl });
      const paths = pkiPaths(dir);
      console.log(`PKI created in ${dir}.`);
      console.log(
        table(
          ['certificate', 'subject', 'expires', 'files'],
          [
            ['root CA', created.root.subject, day(created.root.notAfter), paths.rootCert],
            ['issuing CA', created.issuing.subject, day(created.issuing.notAfter), paths.issuingCert],
            [
              'OCSP responder',
              created.ocspResponder.subject,
              day(created.ocspResponder.notAfter),
              paths.ocspCert,
            ],
          ],
        ),
      );
      console.log(`Verifiers trust ${paths.caBundle} (issuing CA and root).`);
      console.log(
        `The root CA key (${paths.rootKey}) is needed by no node: keep it offline, e.g. move it to removable storage.`,
      );
    });

  pki
    .command('issue')
    .description('issue a party’s identity (TLS, signing) and encryption certificates and keys')
    .requiredOption(
      '--party <id>',
      'the party id: an institution code (131016), jlis, core, or operator:<name>',
    )
    .addOption(new Option('--role <role>', 'the party’s role').choices(PARTY_ROLES).makeOptionMandatory())
    .addOption(
      new Option('--host <host>', 'a DNS name or IP address the party serves on (repeatable)')
        .argParser(collect)
        .default([], 'none'),
    )
    .option('--days <n>', 'validity in days', '365')
    .action(async (options: { party: string; role: string; host: string[]; days: string }) => {
      const issued = await issuePartyCertificates({
        dir: dirOf(),
        partyId: options.party,
        role: options.role,
        hosts: options.host,
        validityDays: wholeNumberOption(options.days, '--days', 1, 3650),
        clock: systemClock,
      });
      printIssued(issued);
    });

  pki
    .command('renew')
    .description(
      'issue a party’s certificates again with the role and hosts of its current ones (the earlier encryption key is kept)',
    )
    .requiredOption('--party <id>', 'the party id, as issued')
    .option('--days <n>', 'validity in days', '365')
    .action(async (options: { party: string; days: string }) => {
      printIssued(
        await renewPartyCertificates({
          dir: dirOf(),
          partyId: options.party,
          validityDays: wholeNumberOption(options.days, '--days', 1, 3650),
          clock: systemClock,
        }),
      );
    });

  pki
    .command('revoke')
    .description('revoke a certificate, or all of a party’s, and publish a new CRL')
    .option(
      '--serial <hex>',
      'the serial number of one certificate (as `renkei pki list` or OpenSSL shows it)',
    )
    .option('--party <id>', 'revoke every certificate of this party')
    .addOption(
      new Option('--reason <reason>', 'why (RFC 5280)')
        .choices(Object.keys(REVOCATION_REASONS))
        .makeOptionMandatory(),
    )
    .action(async (options: { serial?: string; party?: string; reason: string }) => {
      if ((options.serial === undefined) === (options.party === undefined)) {
        throw new RenkeiError('ERR_VALIDATION', 'Give either --serial or --party (one of them, not both).');
      }
      const target = options.serial !== undefined ? { serial: options.serial } : { partyId: options.party! };
      const result = await revokeCertificate({
        dir: dirOf(),
        ...target,
        reason: options.reason,
        clock: systemClock,
      });
      for (const c of result.revoked) console.log(`Revoked ${describe(c)}.`);
      for (const c of result.alreadyRevoked) {
        console.log(
          `Already revoked: ${describe(c)}, on ${c.revokedAt ?? '?'} (${c.reason ?? 'unspecified'}).`,
        );
      }
      if (result.revoked.length > 0) console.log(`Published CRL number ${result.crlNumber}.`);
    });

  pki
    .command('list')
    .description('list every certificate the issuing CA has signed')
    .action(() => {
      const certificates = listCertificates({ dir: dirOf(), clock: systemClock });
      console.log(
        table(
          ['party', 'role', 'kind', 'serial', 'expires', 'status'],
          certificates.map((c) => [
            c.partyId,
            c.role,
            c.kind,
            c.serial,
            c.notAfter.slice(0, 10),
            c.status === 'revoked'
              ? `revoked ${c.revokedAt?.slice(0, 10) ?? ''} (${c.reason ?? 'unspecified'})`
              : c.status,
          ]),
        ),
      );
      console.log(`${plural(certificates.length, 'certificate')}.`);
    });

  pki
    .command('crl')
    .description('sign and publish a fresh CRL (verifiers refuse one past its nextUpdate: run daily)')
    .action(async () => {
      const crl = await refreshCrl({ dir: dirOf(), clock: systemClock });
      console.log(`Published a CRL current until ${crl.nextUpdate.toISOString()}.`);
    });
  pki
    .command('renew-ocsp')
    .description('give the OCSP responder a new key and one-year certificate, before the old one expires')
    .action(async () => {
      const certificate = await renewOcspResponder({ dir: dirOf(), clock: systemClock });
      console.log(
        `OCSP responder renewed: serial ${certificate.serialNumber.toLowerCase()}, expires ${day(certificate.notAfter)}.`,
      );
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function describe(c: CertificateRecord): string {
  return `the ${c.kind} certificate of ${c.partyId}, serial ${c.serial}`;
}

/** What was issued, as a table, and after a renewal what to do next. */
function printIssued(issued: IssuedParty): void {
  console.log(`Issued for ${issued.partyId} (${issued.role}):`);
  console.log(
    table(
      ['kind', 'serial', 'expires', 'certificate', 'key (mode 0600)'],
      [
        [
          'identity',
          issued.identity.serial,
          day(issued.identity.notAfter),
          issued.files.identityCert,
          issued.files.identityKey,
        ],
        [
          'encryption',
          issued.encryption.serial,
          day(issued.encryption.notAfter),
          issued.files.encryptionCert,
          issued.files.encryptionKey,
        ],
      ],
    ),
  );
  const { replaced } = issued;
  if (replaced) {
    // A renewal: what to copy, and what to revoke once the node runs on the new files.
    console.log(
      `It had certificates already: its earlier encryption key (serial ${replaced.encryptionSerial}) is kept in ${replaced.retiredKey}, so that answers sealed to it still open. Copy the party's whole directory to its node and restart the node.`,
    );
    if (replaced.identitySerial !== undefined) {
      console.log(
        `Once the node runs on the new certificates, revoke the earlier identity certificate: renkei pki revoke --serial ${replaced.identitySerial} --reason superseded`,
      );
    }
  }
}
