/**
 * The network's health as the operator's console shows it: whether each registered node answers its
 * `GET /readyz` (it is up and its databases answer; called by the core over its own transport, so on
 * the trust layer with its certificate), the work waiting in the core (inquiries awaiting their provider, answers not yet
 * delivered, kept answers, notices), and how long providers took to answer over the last minutes
 * (p50 and p99 of the newest inquiries answered, refusals left out: they take no provider's time).
 *
 * Answer times come from the provision records (requested, answered), not from an in-memory sample:
 * every core process then reports the same figures. At most `sampleLimit` (10,000) newest inquiries
 * of the window are read, so a busy minute costs one indexed range read, not the whole window.
 */
import type { Clock } from '../../../shared/clock.ts';
import type { Institution } from '../model.ts';
import type { CoreStore, QueueDepths } from '../store.ts';
import type { Registry } from './registry.ts';

export interface NodeProbe {
  id: string;
  name: string;
  /** The registry's English name, for the console in English. */
  nameEn: string;
  kind: string;
  up: boolean;
  /** How long the probe took, in ms (when it answered). */
  ms: number | null;
  /** The stable code of the failure (ERR_UPSTREAM_UNAVAILABLE…), when down. */
  error: string | null;
}

export interface AnswerTimes {
  windowMinutes: number;
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface NetworkHealth {
  checkedAt: string;
  nodes: NodeProbe[];
  queues: QueueDepths;
  answerTimes: AnswerTimes;
}

/** Ask one institution's node for its health; throws (any error) when it does not answer well. */
export type HealthProbe = (institution: Institution) => Promise<void>;

export interface NetworkHealthOptions {
  store: CoreStore;
  registry: Registry;
  clock: Clock;
  probe: HealthProbe;
  windowMinutes?: number;
  sampleLimit?: number;
}

/**
 * The p-th percentile (0 < p ≤ 100) of values, by the nearest-rank method (the value at rank
 * ⌈p/100 × n⌉ of the sorted values): always one of the values, never an interpolation. Undefined for none.
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = values.toSorted((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export class NetworkHealthService {
  constructor(private readonly options: NetworkHealthOptions) {}

  async check(): Promise<NetworkHealth> {
    const { store, registry, clock } = this.options;
    const now = clock.now();
    const windowMinutes = this.options.windowMinutes ?? 5;
    const [institutions, queues, times] = await Promise.all([
      registry.list(),
      store.countQueues(),
      store.listAnswerTimes(
        new Date(now.getTime() - windowMinutes * 60_000).toISOString(),
        this.options.sampleLimit ?? 10_000,
      ),
    ]);
    const nodes = await Promise.all(institutions.map((institution) => this.probeOne(institution)));
    return {
      checkedAt: now.toISOString(),
      nodes,
      queues,
      answerTimes: {
        windowMinutes,
        count: times.length,
        p50Ms: percentile(times, 50) ?? null,
        p99Ms: percentile(times, 99) ?? null,
        maxMs: times.length === 0 ? null : Math.max(...times),
      },
    };
  }

  private async probeOne(institution: Institution): Promise<NodeProbe> {
    const started = performance.now();
    const base = {
      id: institution.id,
      name: institution.name,
      nameEn: institution.nameEn,
      kind: institution.kind,
    };
    try {
      await this.options.probe(institution);
      return { ...base, up: true, ms: Math.round(performance.now() - started), error: null };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return {
        ...base,
        up: false,
        ms: null,
        error: typeof code === 'string' ? code : 'ERR_UPSTREAM_UNAVAILABLE',
      };
    }
  }
}
