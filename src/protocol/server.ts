/**
 * The serving half of the route table: `serve` binds one route of `routes.ts` to a node's Fastify
 * app, parsing its path parameters, query and body with the route's schemas (failing closed with
 * `ERR_VALIDATION`) before the handler sees them, and answering the route's success status. The
 * handler's return type is the route's answer schema, so the compiler checks a router against the
 * table its callers use.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { parseInput } from '../shared/http.ts';
import type { NamedRoute, RouteDef } from './api.ts';

type Parsed<R, K extends 'params' | 'query' | 'body'> = R extends {
  readonly [P in K]: infer S extends z.ZodType;
}
  ? z.output<S>
  : undefined;

export interface Served<R extends RouteDef> {
  params: Parsed<R, 'params'>;
  query: Parsed<R, 'query'>;
  body: Parsed<R, 'body'>;
  request: FastifyRequest;
  /** To answer another success status than the route's (e.g. 200 for an idempotent repeat of a 201). */
  reply: FastifyReply;
}

export type Handler<R extends RouteDef> = (
  input: Served<R>,
) => z.input<R['response']> | Promise<z.input<R['response']>>;

export function serve<R extends NamedRoute>(app: FastifyInstance, route: R, handler: Handler<R>): void {
  app.route({
    method: route.method,
    url: route.path,
    ...(route.bodyLimit === undefined ? {} : { bodyLimit: route.bodyLimit }),
    handler: async (request, reply) => {
      const params = route.params ? parseInput(route.params, request.params, 'path') : undefined;
      const query = route.query ? parseInput(route.query, request.query, 'query') : undefined;
      const body = route.body ? parseInput(route.body, request.body ?? {}, route.label) : undefined;
      reply.status(route.status);
      const answer = await handler({ params, query, body, request, reply } as Served<R>);
      if (route.status === 204) return reply.send();
      return reply.send(answer);
    },
  });
}
