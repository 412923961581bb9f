/**
 * The environment a child of `lockbox run` starts from: the caller's, minus
 * everything that configures Lockbox itself.
 *
 * Contract: no variable whose name starts with `LOCKBOX_` (in any case) survives,
 * which covers every variable config.ts reads (ENV: database, config file, master
 * key, key file, previous keys) and any added later under the same prefix
 * (LOCKBOX_DEBUG, tokens, server URLs). Secret names can never map to a
 * `LOCKBOX_` variable either (toEnvName refuses them), so the child's environment
 * holds no `LOCKBOX_` variable at all.
 */
/** Case-insensitive: Windows environments are, and a child may look up either spelling. */
const LOCKBOX_VARIABLE = /^LOCKBOX_/i;

export function isLockboxVariable(name: string): boolean {
  return LOCKBOX_VARIABLE.test(name);
}

export function childEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const child: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || isLockboxVariable(name)) continue;
    child[name] = value;
  }
  return child;
}
