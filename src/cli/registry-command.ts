import type { Command } from 'commander';
import { InstitutionId } from '../protocol/identifiers.ts';
import type { SuspensionHistory } from '../protocol/admin.ts';
import { adminApi } from '../protocol/routes.ts';
import { RenkeiError } from '../shared/errors.ts';
import type { z } from 'zod';
import { connectNode, nodeUrlOption } from './nodes.ts';
import { table, type GlobalOptions } from './output.ts';

/**
 * `renkei registry suspend|reinstate|history` (network operator, role `operator:registry`): suspend an
 * institution from the network, lift the suspension, and show who did either, when and why. The
 * core's console does the same on its registry page.
 */
export function registerRegistryCommand(program: Command): void {
  const registry = program
    .command('registry')
    .description("the core's institution registry: suspend and reinstate an institution");

  const connect = (coreUrl: string) =>
    connectNode(nodeUrlOption(coreUrl, 'core'), 'core', adminApi, {
      dataDir: program.opts<GlobalOptions>().dataDir,
    });

  for (const action of ['suspend', 'reinstate'] as const) {
    registry
      .command(action)
      .description(
        action === 'suspend'
          ? 'refuse every inquiry the institution sends or is sent, until it is reinstated'
          : 'lift a suspension: its inquiries are accepted again',
      )
      .requiredOption('--core-url <url>', "the core's base URL, e.g. http://127.0.0.1:7100")
      .requiredOption('--institution <id>', 'the institution code, e.g. 152048')
      .requiredOption('--reason <text>', 'why (kept with who and when in the institution’s history)')
      .action(async (options: { coreUrl: string; institution: string; reason: string }) => {
        const id = institutionOption(options.institution);
        const core = await connect(options.coreUrl);
        const request = { params: { id }, body: { reason: options.reason } };
        const answer =
          action === 'suspend'
            ? await core.suspendInstitution(request)
            : await core.reinstateInstitution(request);
        printHistory(answer);
      });
  }

  registry
    .command('history')
    .description("an institution's suspensions and reinstatements: who, when, why")
    .requiredOption('--core-url <url>', "the core's base URL, e.g. http://127.0.0.1:7100")
    .requiredOption('--institution <id>', 'the institution code, e.g. 152048')
    .action(async (options: { coreUrl: string; institution: string }) => {
      const id = institutionOption(options.institution);
      const core = await connect(options.coreUrl);
      printHistory(await core.getSuspensionHistory({ params: { id } }));
    });
}

function institutionOption(text: string): string {
  const id = InstitutionId.safeParse(text);
  if (!id.success) {
    throw new RenkeiError('ERR_VALIDATION', '--institution must be an institution code such as 152048.');
  }
  return id.data;
}

function printHistory({ institution, history }: z.infer<typeof SuspensionHistory>): void {
  console.log(`${institution.id} ${institution.nameEn}: ${institution.suspended ? 'SUSPENDED' : 'active'}`);
  if (history.length > 0) {
    console.log(
      table(
        ['when', 'what', 'by', 'reason'],
        history.map((e) => [e.at, e.action, e.by, e.reason]),
      ),
    );
  }
}
