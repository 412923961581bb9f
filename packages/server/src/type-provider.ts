/**
 * A Fastify type provider for TypeBox: request and reply types are inferred from
 * the route's TypeBox schemas, so a handler cannot drift from its schema.
 * (The same few lines as @fastify/type-provider-typebox, without the dependency.)
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyTypeProvider } from 'fastify';

export interface TypeBoxProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}
