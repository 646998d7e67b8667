/**
 * The bare limit for `renkei bench --baseline`: a relay chain of the same shape as an exchange — the
 * same four HTTP requests between the same four roles, in the same order and pattern — with nothing
 * else: no database, no validation, no cryptography, no logging, bare node:http servers and undici
 * keep-alive clients, in this process like the bench's network. What the network does beyond this is
 * what it costs; the ratio of the two, measured in the same run, is the figure that means something.
 *
 *   1. clerk → requester     POST /inquiries            (answered when 4 has arrived: the clerk's
 *                                                        `waitMs`, one request for inquiry and answer)
 *   2. requester → core      POST /inquiries            → 202 {id}; then, after the answer is written:
 *   3. core → provider       POST /provision-requests   → 200 {items}
 *   4. core → requester      POST /answers              → 204
 *
 * With `--per-request k` the clerk's request carries k inquiries (`POST /inquiry-sets`, as the network's
 * `inquiries:batch`), answered when all k are; the requester relays each of them as above.
 *
 * Each inquiry is relayed alone: the chain does not batch, as the network's requester does when
 * inquiries arrive while a send is in flight. Batching is what the network does to go beyond one
 * message per inquiry; the chain is one message per hop per inquiry, the limit of that pattern.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';

export interface BareChain {
  /** One clerk's request of `perRequest` inquiries; their outcomes. */
  exchange(perRequest: number): Promise<string[]>;
  close(): Promise<void>;
}

const ITEM = { itemNo: 2, layoutVersion: '2020.06', data: { taxableIncome: 4_200_000, fiscalYear: 2024 } };

export async function startBareChain(): Promise<BareChain> {
  // The clerks' connections apart from the relays' (as in the network, where the clerks are another
  // process): a clerk's request is held until its answer comes, and clerks holding every connection
  // to the requester must not keep the core's answers (on their way to it) from getting one.
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });
  const clerks = new Agent({ keepAliveTimeout: 30_000, connections: 256 });
  const post = async (url: string, body: unknown, dispatcher: Agent = agent) => {
    const response = await request(url, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.body.text();
    return text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
  };
  const servers: Server[] = [];
  const listen = async (handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) => {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => handler(req, res, Buffer.concat(chunks).toString()));
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const json = (res: ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };

  let requesterUrl = '';
  const provider = await listen((_req, res, body) => {
    const asked = JSON.parse(body) as { id: string };
    json(res, 200, { id: asked.id, outcome: 'provided', items: [ITEM] });
  });
  const core = await listen((_req, res, body) => {
    const inquiry = JSON.parse(body) as Record<string, unknown>;
    const id = randomUUID();
    json(res, 202, { id });
    setImmediate(() => {
      void post(`${provider}/provision-requests`, { ...inquiry, id })
        .then((answer) => post(`${requesterUrl}/answers`, answer))
        .catch(() => undefined);
    });
  });
  const answers = new Map<string, unknown>();
  const waiting = new Map<string, (answer: unknown) => void>();
  /** Relay one inquiry to the core; the answer, which may come before the core's 202 does. */
  const relay = async (inquiry: unknown): Promise<unknown> => {
    const accepted = await post(`${core}/inquiries`, inquiry);
    const id = String(accepted?.id);
    const answer = answers.get(id);
    if (answer) {
      answers.delete(id);
      return answer;
    }
    return new Promise((resolve) => waiting.set(id, resolve));
  };
  requesterUrl = await listen((req, res, body) => {
    if (req.method === 'POST' && req.url === '/inquiries') {
      relay(JSON.parse(body)).then(
        (answer) => json(res, 200, answer),
        () => json(res, 502, { error: 'core' }),
      );
    } else if (req.method === 'POST' && req.url === '/inquiry-sets') {
      const { inquiries } = JSON.parse(body) as { inquiries: unknown[] };
      Promise.all(inquiries.map(relay)).then(
        (results) => json(res, 200, { results }),
        () => json(res, 502, { error: 'core' }),
      );
    } else if (req.method === 'POST' && req.url === '/answers') {
      const answer = JSON.parse(body) as { id: string };
      const waiter = waiting.get(answer.id);
      if (waiter) {
        waiting.delete(answer.id);
        waiter(answer);
      } else {
        answers.set(answer.id, answer);
      }
      json(res, 204);
    } else {
      json(res, 404);
    }
  });

  const inquiry = {
    addresseeNumber: '131041000000101',
    providerId: '131041',
    clauseNo: '74',
    procedureId: '074-01',
    itemNos: [2],
  };
  const outcomeOf = (answer: unknown) => {
    const outcome = (answer as { outcome?: unknown } | undefined)?.outcome;
    return typeof outcome === 'string' ? outcome : 'error';
  };
  return {
    async exchange(perRequest: number) {
      if (perRequest === 1) {
        return [outcomeOf(await post(`${requesterUrl}/inquiries`, { ...inquiry, waitMs: 30_000 }, clerks))];
      }
      const answer = await post(
        `${requesterUrl}/inquiry-sets`,
        { inquiries: Array.from({ length: perRequest }, () => inquiry), waitMs: 30_000 },
        clerks,
      );
      const results = Array.isArray(answer?.results) ? (answer.results as unknown[]) : [];
      return Array.from({ length: perRequest }, (_, i) => outcomeOf(results[i]));
    },
    async close() {
      await Promise.all([agent.close(), clerks.close()]);
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
