/**
 * `GET /metrics` on a node's app (`monitoringApi.metrics`): the figures `createHttpApp` keeps for it
 * (src/shared/metrics.ts), for an `operator:monitoring:…` certificate only, as every route of the
 * table is guarded (`serve`).
 */
import type { FastifyInstance } from 'fastify';
import { metricsOf } from '../shared/metrics.ts';
import { monitoringApi } from './routes.ts';
import { serve } from './server.ts';

export function serveMetrics(app: FastifyInstance): void {
  const metrics = metricsOf(app.server);
  if (metrics === undefined) throw new TypeError('serveMetrics needs an app made by createHttpApp');
  const route = monitoringApi.metrics;
  serve(app, route, async ({ reply }) => {
    const text = await metrics.text();
    void reply.type(route.answerMediaType);
    return text;
  });
}
