/**
 * How secret names become environment variable names (documented in
 * docs/cli.md, "Environment variable names").
 *
 * The mapping is deliberately simple and predictable:
 *   1. a camelCase boundary becomes "_" (`apiKey` → `api_Key`, `openAIKey` → `open_AI_Key`);
 *   2. each "-", ".", "/", ":" or space becomes one "_" (runs are not collapsed);
 *   3. letters are upper-cased.
 * The result must match ENV_NAME_PATTERN; a name with any other character (non-ASCII
 * letters, "$", "=", …) or starting with a digit cannot become a variable and is
 * refused with ENV_NAME_INVALID rather than silently mangled, and so is a name
 * that maps into RESERVED_ENV_PREFIX.
 *
 * Different names can map to the same variable (`db-password`, `db.password`,
 * `dbPassword`); detecting that is secretsToEnv's job.
 */
import { LockboxError } from '../errors.js';

/** What a portable environment variable name looks like (POSIX, upper case). */
export const ENV_NAME_PATTERN = /^[A-Z_][A-Z0-9_]*$/;

/**
 * Variables Lockbox reads for its own configuration; no secret maps to one, so
 * neither `lockbox run`'s child nor a shell that evals `lockbox env` gets one.
 */
export const RESERVED_ENV_PREFIX = 'LOCKBOX_';

const SEPARATORS = /[-./: ]/g;
const ALLOWED = /^[A-Za-z0-9_]+$/;

/**
 * The environment variable name for secret name `name`: `openai-api-key` →
 * `OPENAI_API_KEY`, `db.password` → `DB_PASSWORD`, `camelCase` → `CAMEL_CASE`.
 * Throws ENV_NAME_INVALID (naming the secret name, which is not secret) when the
 * result would not match ENV_NAME_PATTERN.
 */
export function toEnvName(name: string): string {
  const split = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .replace(SEPARATORS, '_');
  const invalid = (why: string) =>
    new LockboxError(
      'ENV_NAME_INVALID',
      `secret name "${name}" cannot become an environment variable: ${why}`,
      { details: { name } },
    );
  if (split.length === 0) throw invalid('it is empty');
  if (!ALLOWED.test(split)) {
    const bad = [...split].find((c) => !/[A-Za-z0-9_]/.test(c)) ?? '';
    throw invalid(
      `it contains ${JSON.stringify(bad)} (only ASCII letters, digits, "_", "-", ".", "/", ":" and spaces map to a variable)`,
    );
  }
  const variable = split.toUpperCase();
  if (!ENV_NAME_PATTERN.test(variable)) throw invalid('a variable name cannot start with a digit');
  if (variable.startsWith(RESERVED_ENV_PREFIX)) {
    throw invalid(
      `variables starting ${RESERVED_ENV_PREFIX} configure Lockbox itself (a secret must not redirect the next lockbox command to another key or database)`,
    );
  }
  return variable;
}
