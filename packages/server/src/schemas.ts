/**
 * Schemas shared by several route groups: the error body and the error responses
 * every authenticated route can give. Route-specific schemas live with their routes.
 */
import { type TSchema, Type } from '@sinclair/typebox';

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'A stable code from the Lockbox error catalogue.' }),
      message: Type.String(),
    }),
  },
  { $id: 'ErrorBody', title: 'Error' },
);

/** `{ $ref: 'ErrorBody#' }`, for response maps (the schema itself is added once to the app). */
export const ErrorRef = Type.Unsafe<{ error: { code: string; message: string } }>(
  Type.Ref('ErrorBody'),
);

/** Error responses every authenticated route documents. */
export const ERROR_RESPONSES = {
  '4xx': ErrorRef,
  '5xx': ErrorRef,
} as const;

/** Success responses plus the error responses. */
export function responses<T extends Record<number, TSchema>>(ok: T): T & typeof ERROR_RESPONSES {
  return { ...ok, ...ERROR_RESPONSES };
}

export const ScopeParam = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'A scope, URL-encoded (for example user%3A42 or prod).',
});

/** A scope inside a JSON body: sent as it is, never URL-encoded. */
export const ScopeValue = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'A scope, exactly as it is named (for example user:42), not URL-encoded.',
});

export const NameParam = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'A secret name.',
});

export const Timestamp = Type.String({ description: 'ISO-8601 time.' });
