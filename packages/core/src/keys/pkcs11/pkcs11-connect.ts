/**
 * Reaching the token a PKCS#11 URI names: the URI parsed, the PIN read from its
 * source, the module loaded, and a session pool for it (nothing opened yet).
 */
import type { LoadedModule } from './pkcs11-module.js';
import { loadPkcs11Module } from './pkcs11-module.js';
import { readPin } from './pkcs11-pin.js';
import { Pkcs11Sessions } from './pkcs11-sessions.js';
import { type Pkcs11Uri, parsePkcs11Uri } from './pkcs11-uri.js';

export async function connectToToken(
  uri: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ parsed: Pkcs11Uri; loaded: LoadedModule; sessions: Pkcs11Sessions }> {
  const parsed = parsePkcs11Uri(uri);
  const pin = await readPin(parsed.pinSource, env);
  const loaded = loadPkcs11Module(parsed.modulePath);
  return { parsed, loaded, sessions: new Pkcs11Sessions(loaded, parsed, pin) };
}
