import type { Command } from 'commander';
import { nodeOpenApiDocument } from '../protocol/openapi.ts';
import { NODE_APIS, type NodeKind } from '../protocol/routes.ts';
import { RenkeiError } from '../shared/errors.ts';

/**
 * `renkei openapi <core|jlis|institution> [--server <url>]`: print the OpenAPI 3.1 document of a kind
 * of node, the one it serves at `GET /openapi.json`, generated from the route table; no node needs to
 * run. With `--server`, the document names that base URL (a running node's names none).
 *
 * Errors: ERR_VALIDATION (an unknown node kind, or a server that is not a URL).
 */
export function registerOpenApiCommand(program: Command): void {
  program
    .command('openapi')
    .description('print the OpenAPI 3.1 document of a node: core, jlis, institution, corporate or portal')
    .argument('<node>', 'core, jlis, institution, corporate or portal')
    .option('--server <url>', 'the base URL to name in the document, e.g. https://127.0.0.1:7100')
    .action((node: string, options: { server?: string }) => {
      if (!Object.hasOwn(NODE_APIS, node)) {
        throw new RenkeiError(
          'ERR_VALIDATION',
          'The node must be core, jlis, institution, corporate or portal.',
          {
            allowed: Object.keys(NODE_APIS),
          },
        );
      }
      if (options.server !== undefined && !URL.canParse(options.server)) {
        throw new RenkeiError('ERR_VALIDATION', '--server must be a URL such as https://127.0.0.1:7100.');
      }
      console.log(JSON.stringify(nodeOpenApiDocument(node as NodeKind, options.server), null, 2));
    });
}
