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

  /** Labels on every series of this node and of its process (a core worker's id). */
  labelWith(labels: Record<string, string>): void {
    this.registry.setDefaultLabels(labels);
    processMetrics().setDefaultLabels(labels);
  }

  /** Set: scrapes are answered with what this gives instead (a core worker: every worker's series). */
  private gather: (() => Promise<string>) | undefined;

  /** Answer scrapes with `gather`'s exposition (core-workers.ts: the primary gathers every worker's). */
  gatherWith(gather: () => Promise<string>): void {
    this.gather = gather;
  }

  /** The exposition a scrape gets: this process's figures, then this node's (or what `gatherWith` gave). */
  async text(): Promise<string> {
    return this.gather ? this.gather() : this.ownText();
  }

  /** This process's figures, then this node's, whatever `gatherWith` gave. */
  async ownText(): Promise<string> {
    return `${await processMetrics().metrics()}\n${await this.registry.metrics()}`;
  }

  /** This process's and this node's metric families, with their default labels (a worker's `worker`). */
  async families(): Promise<MetricFamily[]> {
    return [...(await processMetrics().getMetricsAsJSON()), ...(await this.registry.getMetricsAsJSON())];
  }
}

/**
 * One exposition of several processes' families (`families()`), each family once: series whose labels
 * differ (every core worker labels its own `worker`) stay apart; none are summed.
 */
export async function mergedText(parts: readonly MetricFamily[][]): Promise<string> {
  return AggregatorRegistry.aggregate(parts as MetricFamily[][]).metrics();
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

export function metricsOf(server: object): NodeMetrics | undefined {
  return byServer.get(server);
}
