/**
 * Where `run` and `env` read their secrets: the local store, or a Lockbox server.
 *
 * Both modes give the commands the same thing — a plan and its values, after
 * every refusal check of core's planSecretsEnv — and record the injection: the
 * local mode in the store's audit log (auditInjection), the server mode on the
 * server, which audits when it hands the values over. In server mode the store
 * is never opened and no master key is read.
 */
import { auditInjection, type EnvPlanEntry, planSecretsEnv, readEnvPlan } from '@lockbox/core';
import type { Invocation } from './context.js';
import type { EnvSelectionOptions } from './env-selection.js';
import { fetchRemoteEnv } from './remote-env.js';
import { connectionFor, serverUrl } from './server-client.js';

export interface EnvRead {
  plan: EnvPlanEntry[];
  variables: Record<string, string>;
  /** Closes the local store early (a long-running child needs no connection); no-op for a server. */
  done: () => Promise<void>;
}

export interface EnvReadOptions {
  existingEnv?: Readonly<Record<string, string | undefined>>;
  override?: boolean;
  /** Non-secret facts for the audit entries (command, program, format, …). */
  details: Record<string, string | boolean>;
}

export async function readEnvSecrets(
  invocation: Invocation,
  options: EnvSelectionOptions,
  read: EnvReadOptions,
): Promise<EnvRead> {
  const selection = {
    scopes: options.scope,
    ...(options.only ? { only: options.only } : {}),
    ...(read.existingEnv === undefined ? {} : { existingEnv: read.existingEnv }),
    override: read.override === true,
  };
  const url = serverUrl(options, invocation.io.env);
  if (url !== undefined) {
    const connection = await connectionFor(url, options, invocation.io.env);
    const source = await fetchRemoteEnv(connection, {
      scopes: options.scope,
      only: options.only,
      client: read.details,
    });
    const plan = await planSecretsEnv(source, selection);
    return { plan, variables: await readEnvPlan(source, plan), done: async () => {} };
  }
  const lockbox = await invocation.open();
  const plan = await planSecretsEnv(lockbox, selection);
  const variables = await readEnvPlan(lockbox, plan, invocation.actor);
  // Audited before anyone can see a value: no unrecorded injection.
  await auditInjection(lockbox, plan, { actor: invocation.actor, details: read.details });
  return { plan, variables, done: () => lockbox.close() };
}
