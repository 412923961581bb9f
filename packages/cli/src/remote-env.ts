/**
 * `run` and `env` against a Lockbox server: the requested scopes' variables in
 * one POST /v1/env, as a secret source that core's planSecretsEnv/readEnvPlan
 * read exactly as they read a local store — so names, collisions (between scopes
 * and with the local environment), `--only` and the NUL check are the same code
 * and the same messages in both modes.
 *
 * The server plans, reads and audits (one `env.inject` entry per scope, with the
 * token as actor) when it hands the values over; this process never opens the
 * store and never holds a master key.
 */
import type { EnvSecretSource, ListedSecret } from '@lockbox/core';
import { LockboxError } from '@lockbox/core';
import { postJson, type ServerConnection } from './server-client.js';

interface RemoteVariable {
  variable: string;
  scope: string;
  name: string;
  value: string;
}

export interface RemoteEnvRequest {
  scopes: readonly string[];
  only?: readonly string[] | undefined;
  /** Non-secret facts the server records in its env.inject entries. */
  client: Record<string, string | boolean>;
}

function isVariables(json: unknown): json is { variables: RemoteVariable[] } {
  const list = (json as { variables?: unknown } | null)?.variables;
  return (
    Array.isArray(list) &&
    list.every(
      (v: Partial<RemoteVariable> | null) =>
        typeof v?.variable === 'string' &&
        typeof v.scope === 'string' &&
        typeof v.name === 'string' &&
        typeof v.value === 'string',
    )
  );
}

/**
 * Fetches the variables and returns them as a read-only secret source holding
 * only what the server answered. Throws the server's error (its stable code).
 */
export async function fetchRemoteEnv(
  connection: ServerConnection,
  request: RemoteEnvRequest,
): Promise<Pick<EnvSecretSource, 'secrets'>> {
  const answer = await postJson(connection, '/v1/env', {
    scopes: request.scopes,
    ...(request.only === undefined ? {} : { only: request.only }),
    // The server bounds these audit facts (256 characters); a long program path is cut, not refused.
    client: Object.fromEntries(
      Object.entries(request.client).map(([k, v]) => [
        k,
        typeof v === 'string' ? v.slice(0, 256) : v,
      ]),
    ),
  });
  if (!isVariables(answer)) {
    throw new LockboxError('SERVER_UNREACHABLE', 'the server answered /v1/env in an unknown shape');
  }
  const byScope = new Map<string, RemoteVariable[]>();
  for (const entry of answer.variables) {
    byScope.set(entry.scope, [...(byScope.get(entry.scope) ?? []), entry]);
  }
  return {
    secrets: {
      // Only the name of a listed secret is used by planSecretsEnv.
      list: async (options: { scope?: string } = {}) =>
        (byScope.get(options.scope ?? '') ?? []).map(
          (entry) => ({ scope: entry.scope, name: entry.name }) as ListedSecret,
        ),
      get: async (scope: string, name: string) => {
        const entry = byScope.get(scope)?.find((e) => e.name === name);
        if (entry === undefined) {
          throw new LockboxError('SECRET_NOT_FOUND', `no secret "${scope}/${name}"`, {
            details: { scope, name },
          });
        }
        return entry.value;
      },
    },
  };
}
