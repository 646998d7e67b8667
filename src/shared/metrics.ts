/**
 * What a node tells its operators' monitoring, in Prometheus's text format (`GET /metrics`, for an
 * `operator:monitoring:…` certificate: protocol/monitoring.ts): every request it answered, by route
 * pattern, method and status, with its duration; every error it answered, by stable code; and the
 * process's own figures (CPU, memory, event-loop delay, garbage collection: prom-client's default
 * metrics, under their usual names, so that the usual Node.js dashboards read them).
 *
 * The labels are route patterns (`/v1/inquiries/:processingNumber`), methods, statuses and error
 * codes: never a URL as sent, a party named in a request, or anything of a person. A request that
 * matched no route is counted under `(no route)`. Each node's app has its own registry; the process's
 * figures are one registry per process, shown by every node of it (one process per node, as `renkei
 * start` runs them; an in-process network's nodes show the same process figures).
 */
import type { FastifyInstance } from 'fastify';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One metric family with its series, as prom-client's JSON: how a core worker hands its figures over. */
export type MetricFamily = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];

/** Seconds; 0.02 is issue 7's p99 target for an exchange. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

let processRegistry: Registry | undefined;

function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class NodeMetrics {
  private readonly registry = new Registry();
  private readonly requests = new Histogram({
    name: 'renkei_http_request_duration_seconds',
    help: 'Requests this node answered, by route pattern, method and status, and how long each took.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'renkei_errors_total',
    help: 'Errors this node answered, by stable error code (README, "Errors"); a failed member of an inquiry set counts as one.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  /** Set: scrapes are answered with what this gives instead (a core worker: every worker's series). */
  private gather: (() => Promise<string>) | undefined;

  /** What `labelWith` put on every series: an included listener's series get it too. */
  private defaultLabels: Record<string, string> = {};

  /** The node's other listeners (a console, the portal's web pages, a publication), by their labels. */
  private readonly listeners: { metrics: NodeMetrics; labels: Record<string, string> }[] = [];

  constructor() {
    processMetrics();
  }

  /** One answered request. `route` is the matched route's pattern, never the URL as sent. */
  request(route: string, method: string, status: number, seconds: number): void {
    this.requests.observe({ route, method, status: String(status) }, seconds);
  }

  error(code: string): void {
    this.errors.inc({ code });
  }

  /**
   * A gauge of the node's own state, read at each scrape: `read` gives every series's value now (a
   * series it no longer gives is gone from the next scrape, not left at its last value).
   */
  gauge<L extends string>(options: {
    name: string;
    help: string;
    labelNames: readonly L[];
    read: () =>
      | Iterable<{ labels: Record<L, string>; value: number }>
      | Promise<Iterable<{ labels: Record<L, string>; value: number }>>;
  }): void {
    const { read } = options;
    new Gauge<L>({
      name: options.name,
      help: options.help,
      labelNames: options.labelNames,
      registers: [this.registry],
      async collect() {
        const series = await read();
        this.reset();
        for (const { labels, value } of series) this.set(labels as Partial<Record<L, string>>, value);
      },
    });
  }

  /**
   * A counter the node keeps itself (a tally in a service), read at each scrape: `read` gives every
   * series's total since start.
   */
  counter<L extends string>(options: {
    name: string;
    help: string;
    labelNames: readonly L[];
    read: () => Iterable<{ labels: Record<L, string>; value: number }>;
  }): void {
    const { read } = options;
    new Counter<L>({
      name: options.name,
      help: options.help,
      labelNames: options.labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { labels, value } of read()) this.inc(labels as Partial<Record<L, string>>, value);
      },
    });
  }

  /** Labels on every series of this node and of its process (a core worker's id). */
  labelWith(labels: Record<string, string>): void {
    this.defaultLabels = labels;
    this.registry.setDefaultLabels(labels);
    processMetrics().setDefaultLabels(labels);
  }

  /** Answer scrapes with `gather`'s exposition (core-workers.ts: the primary gathers every worker's). */
  gatherWith(gather: () => Promise<string>): void {
    this.gather = gather;
  }

  /**
   * Show another listener's requests and errors among this node's, its series labelled `labels`
   * (`{ listener: 'console' }`): a node has one `/metrics`, on its main port, for all its listeners.
   */
  include(other: NodeMetrics, labels: Record<string, string>): void {
    this.listeners.push({ metrics: other, labels });
  }

  /** The exposition a scrape gets: `ownText`, or what `gatherWith` gave. */
  async text(): Promise<string> {
    return this.gather ? this.gather() : this.ownText();
  }

  /** This process's figures, this node's and its other listeners', each family once. */
  async ownText(): Promise<string> {
    return mergedText([await this.families()]);
  }

  /**
   * This process's metric families, this node's and its other listeners', with their default labels
   * (a worker's `worker`) and each listener's.
   */
  async families(): Promise<MetricFamily[]> {
    const families = [
      ...(await processMetrics().getMetricsAsJSON()),
      ...(await this.registry.getMetricsAsJSON()),
    ];
    const defaults = this.defaultLabels;
    for (const { metrics, labels } of this.listeners) {
      for (const family of await metrics.registry.getMetricsAsJSON()) {
        families.push({
          ...family,
          values: family.values.map((v) => ({ ...v, labels: { ...v.labels, ...defaults, ...labels } })),
        });
      }
    }
    return families;
  }
}

/**
 * One exposition of several parts' families (`families()`), each family once. Series whose labels
 * differ (every core worker labels its own `worker`, every other listener its `listener`) stay apart:
 * nothing is summed or averaged across them. Each family is merged as a sum because prom-client's own
 * merge rules for a cluster drop some (`process_start_time_seconds` is `omit`) or average others,
 * which would lose a worker's figures here.
 */
export async function mergedText(parts: readonly MetricFamily[][]): Promise<string> {
  return AggregatorRegistry.aggregate(
    parts.map((families) => families.map((family) => ({ ...family, aggregator: 'sum' as const }))),
  ).metrics();
}

/** The Prometheus text format's media type (version 0.0.4). */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** Each node's metrics, by its HTTP server (the same object in every Fastify plugin context). */
const byServer = new WeakMap<object, NodeMetrics>();

export function attachMetrics(server: object): NodeMetrics {
  const metrics = new NodeMetrics();
  byServer.set(server, metrics);
  return metrics;
}

/**
 * Count every request `app` answers, by the matched route's pattern (never the URL as sent), method
 * and status, in metrics of its own (`metricsOf(app.server)`): a node's API (`createHttpApp`) and its
 * pages (`createWebApp`) alike.
 */
export function countRequests(app: FastifyInstance): NodeMetrics {
  const metrics = attachMetrics(app.server);
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request(
      request.routeOptions.url ?? '(no route)',
      request.method,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
  return metrics;
}

export function metricsOf(server: object): NodeMetrics | undefined {
  return byServer.get(server);
}

/** Show `other`'s requests at `main`'s `/metrics`, labelled `listener` (both apps count requests). */
export function includeListener(main: FastifyInstance, other: FastifyInstance, listener: string): void {
  const into = metricsOf(main.server);
  const from = metricsOf(other.server);
  if (!into || !from) throw new TypeError('includeListener needs two apps that count their requests');
  into.include(from, { listener });
}
