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
 * Each inquiry is relayed alone: the chain does not batch, as the network's requester does when
 * inquiries arrive while a send is in flight. Batching is what the network does to go beyond one
 * message per inquiry; the chain is one message per hop per inquiry, the limit of that pattern.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';

export interface BareChain {
  exchange(): Promise<string>;
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
  const waiting = new Map<string, ServerResponse>();
  requesterUrl = await listen((req, res, body) => {
    if (req.method === 'POST' && req.url === '/inquiries') {
      // Answered with the answer (the clerk's wait), which may come before the core's 202 does.
      void post(`${core}/inquiries`, JSON.parse(body)).then(
        (accepted) => {
          const id = String(accepted?.id);
          const answer = answers.get(id);
          if (answer) {
            answers.delete(id);
            json(res, 200, answer);
          } else {
            waiting.set(id, res);
          }
        },
        () => json(res, 502, { error: 'core' }),
      );
    } else if (req.method === 'POST' && req.url === '/answers') {
      const answer = JSON.parse(body) as { id: string };
      const waiter = waiting.get(answer.id);
      if (waiter) {
        waiting.delete(answer.id);
        json(waiter, 200, answer);
      } else {
        answers.set(answer.id, answer);
      }
      json(res, 204);
    } else {
      json(res, 404);
    }
  });

  return {
    async exchange() {
      const answer = await post(
        `${requesterUrl}/inquiries`,
        {
          addresseeNumber: '131041000000101',
          providerId: '131041',
          clauseNo: '74',
          procedureId: '074-01',
          itemNos: [2],
          waitMs: 30_000,
        },
        clerks,
      );
      return typeof answer?.outcome === 'string' ? answer.outcome : 'error';
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
