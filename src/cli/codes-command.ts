import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { InstitutionId } from '../protocol/identifiers.ts';
import { MAX_REISSUE_BATCH } from '../protocol/messages.ts';
import type { CodeReissuePage } from '../protocol/business.ts';
import { RenkeiError } from '../shared/errors.ts';
import { adminApi, businessApi } from '../protocol/routes.ts';
import type { GlobalOptions } from './output.ts';
import { connectNode, nodeUrlOption } from './nodes.ts';
import { table, wholeNumberOption } from './output.ts';

const SHOWN_CLEARED = 50;

/**
 * `renkei codes rotate` and `renkei codes reissue`: rotating an institution's key (the network
 * operator, at the core) and re-keying the codes it holds (the institution's IT staff, at its
 * intermediate server). The core refuses the next rotation until the re-keying is complete.
 */
export function registerCodesCommand(program: Command): void {
  const codes = program
    .command('codes')
    .description("rotate an institution's code key at the core, and re-key the codes it holds");

  codes
    .command('rotate')
    .description("move an institution's codes to the next key version (network operator)")
    .requiredOption('--core-url <url>', "the core's base URL, e.g. http://127.0.0.1:7100")
    .requiredOption('--institution <id>', 'the institution code, e.g. 152048')
    .action(async (options: { coreUrl: string; institution: string }) => {
      const coreUrl = nodeUrlOption(options.coreUrl, 'core');
      const id = InstitutionId.safeParse(options.institution);
      if (!id.success) {
        throw new RenkeiError('ERR_VALIDATION', '--institution must be an institution code such as 152048.');
      }
      const core = await connectNode(coreUrl, 'core', adminApi, {
        dataDir: program.opts<GlobalOptions>().dataDir,
      });
      const rotated = await core.rotateInstitutionKey({ params: { id: id.data } });
      console.log(
        table(
          ['institution', 'key version', 'previous version'],
          [[rotated.institutionId, rotated.keyVersion, `${rotated.keyVersion - 1} (still accepted)`]],
        ),
      );
      console.log(
        `Next: the institution runs \`renkei codes reissue --institution-url <its node URL>\`. ` +
          'Until then its codes of the previous version keep working, and its key cannot rotate again.',
      );
    });

  codes
    .command('reissue')
    .description("re-key every code an institution holds after a rotation (institution's IT staff)")
    .requiredOption('--institution-url <url>', "the institution node's base URL, e.g. http://127.0.0.1:7111")
    .option('--batch-size <n>', `codes per request, at most ${MAX_REISSUE_BATCH}`, String(MAX_REISSUE_BATCH))
    .action(async (options: { institutionUrl: string; batchSize: string }) => {
      const institutionUrl = nodeUrlOption(options.institutionUrl, 'institution');
      const limit = wholeNumberOption(options.batchSize, '--batch-size', 1, MAX_REISSUE_BATCH);
      const institution = await connectNode(institutionUrl, 'institution', businessApi, {
        dataDir: program.opts<GlobalOptions>().dataDir,
        timeoutMs: 120_000,
      });
      const bar = new SingleBar(
        { format: 'codes [{bar}] {value}/{total} {eta}s left', stream: process.stderr },
        Presets.shades_classic,
      );
      let started = false;
      let after: string | null | undefined;
      let keyVersion: number | undefined;
      let checked = 0;
      let reissued = 0;
      const cleared: string[] = [];
      try {
        do {
          const page: CodeReissuePage = await institution.reissueCodes({
            body: {
              limit,
              ...(after ? { after } : {}),
              ...(keyVersion === undefined ? {} : { keyVersion }),
            },
          });
          keyVersion = page.keyVersion;
          checked += page.checked;
          reissued += page.reissued;
          cleared.push(...page.cleared);
          after = page.next;
          if (!started && page.total > limit) {
            bar.start(page.total, 0);
            started = true;
          }
          if (started) bar.update(Math.min(checked, page.total));
        } while (after);
      } finally {
        if (started) bar.stop();
      }
      console.log(
        table(
          ['key version', 'codes checked', 'reissued', 'already current', 'not recognised (removed)'],
          [[keyVersion ?? '-', checked, reissued, checked - reissued - cleared.length, cleared.length]],
        ),
      );
      if (cleared.length > 0) {
        console.log(
          "The core did not recognise these persons' codes, so they were removed; register each again " +
            '(POST /business/v1/persons) to acquire a new code:',
        );
        for (const addresseeNumber of cleared.slice(0, SHOWN_CLEARED)) console.log(`  ${addresseeNumber}`);
        if (cleared.length > SHOWN_CLEARED) console.log(`  … and ${cleared.length - SHOWN_CLEARED} more.`);
      }
      console.log("Re-keying is complete: the core may rotate this institution's key again.");
    });
}
