import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RenkeiError } from '../shared/errors.ts';
import { createHttpApp, listen } from '../shared/http.ts';
import { silentLogger } from '../shared/logger.ts';
import { NoContent, createClient, defineApi } from './api.ts';
import { httpTransport } from './http-transport.ts';
import { serve } from './server.ts';
import type { Transport } from './transport.ts';

const Echo = z.object({ id: z.string(), n: z.number(), note: z.string().optional() });

const testApi = defineApi('test', {
  echo: {
    method: 'POST',
    path: '/v1/things/:id',
    status: 201,
    callers: ['anyone'],
    label: 'thing',
    params: z.object({ id: z.string().max(8) }),
    query: z.object({ note: z.string().optional() }),
    body: z.object({ n: z.number().int() }),
    response: Echo,
  },
  batch: {
    method: 'POST',
    path: '/v1/things::batch',
    status: 204,
    callers: ['anyone'],
    label: 'batch',
    body: z.object({ n: z.number() }),
    response: NoContent,
  },
  lying: {
    method: 'GET',
    path: '/v1/lying',
    status: 200,
    callers: ['anyone'],
    label: 'request',
    response: Echo,
  },
});

let url: string;
const app = createHttpApp({ logger: silentLogger(), node: 'test' });
const transport = httpTransport();
const sent: string[] = [];
/** Records each call's path as the transport sees it, then sends it. */
const recording: Transport = {
  send: (request) => {
    sent.push(`${request.route.api}.${request.route.name} ${request.path}`);
    return transport.send(request);
  },
  close: () => transport.close(),
};

beforeAll(async () => {
  serve(app, testApi.echo, ({ params, query, body }) => ({
    id: params.id,
    n: body.n,
    ...(query.note === undefined ? {} : { note: query.note }),
  }));
  serve(app, testApi.batch, ({ body }) => {
    if (body.n < 0) throw new RenkeiError('ERR_DUPLICATE', 'negative');
    return undefined;
  });
  // Serves the route's path with an answer that breaks its schema, as a faulty or hostile peer would.
  app.get('/v1/lying', () => ({ id: 7 }));
  url = await listen(app, 0);
});

afterAll(async () => {
  await app.close();
  await transport.close();
});

describe('a typed client over the route table', () => {
  const client = () => createClient(testApi, { transport: recording, baseUrl: url, peer: 'the test node' });

  it('fills and encodes path parameters, sends the query and the body, and parses the answer', async () => {
    const answer = await client().echo({ params: { id: 'a/b c' }, query: { note: 'hi' }, body: { n: 3 } });
    expect(answer).toEqual({ id: 'a/b c', n: 3, note: 'hi' });
    expect(sent).toContain('test.echo /v1/things/a%2Fb%20c');
  });

  it("turns Fastify's escaped colon into a literal one", async () => {
    await expect(client().batch({ body: { n: 1 } })).resolves.toBeUndefined();
    expect(sent).toContain('test.batch /v1/things:batch');
  });

  it("answers the peer's error code with the peer named", async () => {
    const error = await client()
      .batch({ body: { n: -1 } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RenkeiError);
    expect((error as RenkeiError).code).toBe('ERR_DUPLICATE');
    expect((error as RenkeiError).details.peer).toBe('the test node');
  });

  it('refuses an answer that does not follow the protocol, naming the field but not its value', async () => {
    const error = await client()
      .lying()
      .catch((e: unknown) => e);
    expect((error as RenkeiError).code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    expect((error as RenkeiError).details).toMatchObject({ peer: 'the test node', status: 200, path: 'id' });
  });

  it("fails closed on the server with the route's label when the input breaks the schema", async () => {
    const error = await client()
      .echo({ params: { id: 'much-too-long' }, query: {}, body: { n: 1 } })
      .catch((e: unknown) => e);
    expect((error as RenkeiError).code).toBe('ERR_VALIDATION');
    const bad = await createClient(testApi, { transport, baseUrl: url, peer: 'x' })
      .echo({ params: { id: 'ok' }, query: {}, body: { n: 1.5 } })
      .catch((e: unknown) => e);
    expect((bad as RenkeiError).message).toMatch(/^The thing is invalid: n:/);
  });

  it('names the peer when nothing answers', async () => {
    const gone = createClient(testApi, { transport, baseUrl: 'http://127.0.0.1:1', peer: 'the gone node' });
    const error = await gone.lying().catch((e: unknown) => e);
    expect((error as RenkeiError).code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    expect((error as RenkeiError).message).toBe('the gone node could not be reached.');
  });
});
