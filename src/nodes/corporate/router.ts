/**
 * The corporate-number service's HTTP API, `corporateApi` of `src/protocol/routes.ts`. Lookups are
 * public; designations and changes need the NTA's business credential (the route table says so and
 * `serve` enforces it on the trust layer).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { CORPORATION_CSV_HEADER, corporationCsvRow } from '../../domain/corporations/csv.ts';
import { parseCorporateNumber } from '../../domain/identifiers/corporate-number.ts';
import { serveOpenApi } from '../../protocol/openapi.ts';
import { serveMetrics } from '../../protocol/monitoring.ts';
import { corporateApi } from '../../protocol/routes.ts';
import { serve } from '../../protocol/server.ts';
import type { CorporateNumberService } from './service/corporations.ts';

/** Corporations read per page while the CSV streams. */
const DOWNLOAD_PAGE = 1_000;

export function registerCorporateRoutes(app: FastifyInstance, service: CorporateNumberService): void {
  serve(app, corporateApi.showCorporation, ({ params, query }) =>
    service.show(params.corporateNumber, query.history),
  );
  serve(app, corporateApi.searchCorporations, ({ query }) => service.search(query));
  serve(app, corporateApi.listChanges, ({ query }) => service.changes(query));
  serve(app, corporateApi.designateCorporation, ({ body }) => service.designate(body));
  serve(app, corporateApi.changeCorporation, ({ params, body }) =>
    service.change(parseCorporateNumber(params.corporateNumber), body),
  );
  serve(app, corporateApi.downloadCorporations, ({ query, reply }) => {
    async function* rows(): AsyncGenerator<string> {
      yield CORPORATION_CSV_HEADER;
      let after: string | undefined;
      do {
        const page = await service.search({
          ...(query.prefectureCode === undefined ? {} : { prefectureCode: query.prefectureCode }),
          includeClosed: query.includeClosed,
          limit: DOWNLOAD_PAGE,
          ...(after === undefined ? {} : { after }),
        });
        yield page.corporations.map(corporationCsvRow).join('');
        after = page.next;
      } while (after !== undefined);
    }
    reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="corporations.csv"');
    // Streamed page by page, so the whole register is never in memory. The route's schema says
    // "a string" (the document's text/csv); what Fastify sends is this stream of it.
    return Readable.from(rows()) as unknown as string;
  });
  serveOpenApi(app, 'corporate');
  serveMetrics(app);
}
