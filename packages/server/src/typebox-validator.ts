/**
 * Request validation with TypeBox's own compiler instead of Fastify's default
 * Ajv setup.
 *
 * Why: Ajv, as Fastify configures it, coerces types everywhere — a JSON body
 * `{ "value": 42 }` would quietly become the string "42" and be stored. Here
 * bodies are checked exactly as sent; only the querystring (which is text by
 * nature) is converted to the schema's types first. Unknown body fields fail
 * because body schemas say `additionalProperties: false`.
 *
 * Error entries carry the path and the rule broken, never the offending value
 * (it may be a secret); Fastify turns them into "body/value Expected string".
 */
import { type TSchema, TypeGuard } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { FastifySchemaCompiler } from 'fastify';

const MAX_ERRORS = 3;

export const typeBoxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  if (httpPart === 'body' && schema.type === 'string' && schema.format === 'binary') {
    // A binary body (a backup upload) arrives as a Buffer from its content-type
    // parser, which has already enforced its size limit.
    return (input: unknown) =>
      Buffer.isBuffer(input)
        ? { value: input }
        : { error: [{ instancePath: '', message: 'Expected binary content' }] as never };
  }
  if (!TypeGuard.IsSchema(schema)) {
    throw new Error(`route ${httpPart} schema is not a TypeBox schema`);
  }
  const check = TypeCompiler.Compile(schema);
  const convert = httpPart === 'querystring' || httpPart === 'params' || httpPart === 'headers';
  return (input: unknown) => {
    const value = convert ? Value.Convert(schema, input) : input;
    if (check.Check(value)) return { value };
    const errors = [];
    for (const error of check.Errors(value)) {
      errors.push({ instancePath: error.path, message: error.message });
      if (errors.length >= MAX_ERRORS) break;
    }
    return { error: errors as never };
  };
};
