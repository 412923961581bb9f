/**
 * Handing a scope's secrets to a process as environment variables — the library
 * side of `lockbox run` and `lockbox env`, for apps that start their own
 * sandboxes or workers.
 *
 * Everything that can be refused is refused before a single value is decrypted:
 * an empty or unknown scope, a name that cannot become a variable, two secrets
 * that map to the same variable (across scopes too), a secret that would replace
 * a variable already in the environment (unless `override`), and an `only` name
 * that no scope holds. A caller that starts a process after this returns can
 * therefore never start it half-configured.
 */
import { LockboxError } from '../errors.js';
import type { Actor, AuditSink } from '../vault/audit-sink.js';
import type { ListedSecret, Secrets } from '../vault/secrets.js';
import { auditInjection } from './audit-injection.js';
import { toEnvName } from './env-names.js';

export interface SecretsToEnvOptions {
  /** Scopes to read, in order. At least one. */
  scopes: readonly string[];
  /** Only these secret names (each must exist in some scope). Default: every secret. */
  only?: readonly string[];
  /** The environment the variables join; a clash is ENV_COLLISION unless `override`. */
  existingEnv?: Readonly<Record<string, string | undefined>>;
  /** Let secrets replace variables already in `existingEnv`. Never affects clashes between secrets. */
  override?: boolean;
  /** Who reads, for audit entries. */
  actor?: Actor;
}

/** One planned variable: where its value comes from. */
export interface EnvPlanEntry {
  variable: string;
  scope: string;
  name: string;
}

/** The narrow part of a Lockbox this needs (an optional audit log records injections). */
export interface EnvSecretSource {
  secrets: Pick<Secrets, 'list' | 'get'>;
  audit?: AuditSink;
}

function collision(message: string, details: Record<string, unknown>): LockboxError {
  return new LockboxError('ENV_COLLISION', message, { details });
}

/**
 * Plans the variables (names and sources only, no decryption). Throws
 * SECRET_NOT_FOUND for a scope without secrets or an `only` name no scope holds,
 * ENV_NAME_INVALID, and ENV_COLLISION naming both sources.
 */
export async function planSecretsEnv(
  source: Pick<EnvSecretSource, 'secrets'>,
  options: SecretsToEnvOptions,
): Promise<EnvPlanEntry[]> {
  if (options.scopes.length === 0) {
    throw new LockboxError('INVALID_ARGUMENT', 'at least one scope is needed');
  }
  const only = options.only === undefined ? undefined : new Set(options.only);
  const seen = new Set<string>();
  const plan: EnvPlanEntry[] = [];
  const byVariable = new Map<string, EnvPlanEntry>();
  for (const scope of options.scopes) {
    if (seen.has(scope)) continue;
    seen.add(scope);
    const listed: ListedSecret[] = await source.secrets.list({ scope });
    if (listed.length === 0) {
      throw new LockboxError('SECRET_NOT_FOUND', `scope "${scope}" has no secrets`, {
        details: { scope },
      });
    }
    for (const secret of listed) {
      if (only !== undefined && !only.has(secret.name)) continue;
      const entry = { variable: toEnvName(secret.name), scope, name: secret.name };
      const earlier = byVariable.get(entry.variable);
      if (earlier !== undefined) {
        throw collision(
          `${earlier.scope}/${earlier.name} and ${scope}/${secret.name} both map to ${entry.variable}; choose one with --only`,
          {
            variable: entry.variable,
            sources: [`${earlier.scope}/${earlier.name}`, `${scope}/${secret.name}`],
          },
        );
      }
      if (options.existingEnv?.[entry.variable] !== undefined && options.override !== true) {
        throw collision(
          `${scope}/${secret.name} maps to ${entry.variable}, which is already set in the environment; unset it or pass --override`,
          { variable: entry.variable, sources: [`${scope}/${secret.name}`, 'environment'] },
        );
      }
      byVariable.set(entry.variable, entry);
      plan.push(entry);
    }
  }
  for (const name of only ?? []) {
    if (!plan.some((entry) => entry.name === name)) {
      throw new LockboxError(
        'SECRET_NOT_FOUND',
        `no secret "${name}" in scope(s) ${[...seen].join(', ')}`,
        { details: { name, scopes: [...seen] } },
      );
    }
  }
  return plan;
}

/**
 * Decrypts a plan's values. Throws SECRET_UNDECRYPTABLE (naming the secret and the
 * key it needs) and refuses (INVALID_ARGUMENT) a value containing a NUL byte,
 * which no environment variable can hold.
 */
export async function readEnvPlan(
  source: Pick<EnvSecretSource, 'secrets'>,
  plan: readonly EnvPlanEntry[],
  actor?: Actor,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const entry of plan) {
    const value = await source.secrets.get(entry.scope, entry.name, actor ? { actor } : {});
    if (value.includes('\0')) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        `the value of ${entry.scope}/${entry.name} contains a NUL byte, which an environment variable cannot hold`,
        { details: { scope: entry.scope, name: entry.name } },
      );
    }
    env[entry.variable] = value;
  }
  return env;
}

/**
 * The secrets of `scopes` as environment variables (name → value), after every
 * refusal check (see planSecretsEnv). When `source.audit` exists, records one
 * `env.inject` entry per scope naming the secrets and variables — never values.
 */
export async function secretsToEnv(
  source: EnvSecretSource,
  options: SecretsToEnvOptions,
): Promise<Record<string, string>> {
  const plan = await planSecretsEnv(source, options);
  const env = await readEnvPlan(source, plan, options.actor);
  await auditInjection(source, plan, { actor: options.actor });
  return env;
}
