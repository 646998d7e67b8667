import type { Command } from 'commander';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { portalScopeDescriptions } from '../nodes/portal/api-router.ts';
import { itemScope } from '../nodes/portal/api/authorization-server.ts';
import { MY_INFORMATION_CLAUSE, MY_INFORMATION_PROCEDURE } from '../nodes/portal/service/my-information.ts';
import { nodeOpenApiDocument, portalWebApiDocument } from '../protocol/openapi.ts';
import { NODE_APIS, type NodeKind } from '../protocol/routes.ts';
import { RenkeiError } from '../shared/errors.ts';

/**
 * `renkei openapi <core|jlis|institution|corporate|portal> [--server <url>]`: print the OpenAPI 3.1
 * document of a kind of node, as it serves it at `GET /openapi.json` with every part configured (the
 * portal's: on its network listener; without ぴったりサービス it lists no 申請データダウンロード),
 * generated from the route table; no node needs to run. With `--server`, the document names that base URL (a running node's
 * names none).
 *
 * `renkei openapi portal-web [--server <url>]`: the document of the Myna Portal's APIs for other
 * services (`/api/v1/` on its web listener, served at `GET /api/v1/openapi.json`), naming the portal's
 * origin (`--server`, default the demo's http://127.0.0.1:7180) and, as scopes, every item the legal
 * table lets the portal read for わたしの情報; a running portal names those its providers give.
 *
 * Errors: ERR_VALIDATION (an unknown node kind, or a server that is not a URL).
 */
export function registerOpenApiCommand(program: Command): void {
  program
    .command('openapi')
    .description(
      'print the OpenAPI 3.1 document of a node (core, jlis, institution, corporate, portal), or of the portal’s APIs for other services (portal-web)',
    )
    .argument('<node>', 'core, jlis, institution, corporate, portal or portal-web')
    .option('--server <url>', 'the base URL to name in the document, e.g. https://127.0.0.1:7100')
    .action((node: string, options: { server?: string }) => {
      if (!Object.hasOwn(NODE_APIS, node) && node !== PORTAL_WEB) {
        throw new RenkeiError(
          'ERR_VALIDATION',
          'The node must be core, jlis, institution, corporate, portal or portal-web.',
          {
            allowed: [...Object.keys(NODE_APIS), PORTAL_WEB],
          },
        );
      }
      if (options.server !== undefined && !URL.canParse(options.server)) {
        throw new RenkeiError('ERR_VALIDATION', '--server must be a URL such as https://127.0.0.1:7100.');
      }
      if (node === PORTAL_WEB) {
        console.log(JSON.stringify(portalWebDocument(options.server ?? DEMO_PORTAL_ORIGIN), null, 2));
        return;
      }
      console.log(JSON.stringify(nodeOpenApiDocument(node as NodeKind, options.server), null, 2));
    });
}

const PORTAL_WEB = 'portal-web';
const DEMO_PORTAL_ORIGIN = 'http://127.0.0.1:7180';

/**
 * The portal's `/api/v1/` document as a portal whose providers cover every kind would serve it: its
 * scopes are the items of わたしの情報's procedure that some provision of its clause gives.
 */
function portalWebDocument(origin: string) {
  const legalTable = loadLegalTable();
  const given = new Set(
    (legalTable.findClause(MY_INFORMATION_CLAUSE)?.provisions ?? []).flatMap((p) => p.itemNos),
  );
  const itemNos = (legalTable.findProcedure(MY_INFORMATION_PROCEDURE)?.itemNos ?? [])
    .filter((n) => given.has(n))
    .sort((a, b) => a - b);
  const scopes = [...itemNos.map(itemScope), 'application'];
  return portalWebApiDocument({ origin, scopes: portalScopeDescriptions(legalTable, scopes) });
}
