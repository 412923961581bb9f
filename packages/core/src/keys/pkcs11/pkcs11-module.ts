/**
 * Loading the PKCS#11 binding (npm `pkcs11js`, an optional dependency loaded
 * only when a pkcs11: URI is used) and the modules it opens.
 *
 * A module is loaded and C_Initialize'd once per process and path, and shared:
 * PKCS#11 allows one initialisation per application, so a second keyring (or
 * the test helpers) on the same module must reuse it. Errors: PKCS11_UNAVAILABLE
 * when the binding is not installed, PKCS11_MODULE_LOAD_FAILED when the module
 * cannot be loaded or initialised (details.modulePath).
 */
import { createRequire } from 'node:module';
import type * as Pkcs11js from 'pkcs11js';
import { LockboxError } from '../../errors.js';

export type Pkcs11Binding = typeof Pkcs11js;
export type Pkcs11Module = Pkcs11js.PKCS11;

export interface LoadedModule {
  readonly binding: Pkcs11Binding;
  readonly module: Pkcs11Module;
  readonly path: string;
}

let binding: Pkcs11Binding | undefined;
const modules = new Map<string, LoadedModule>();

/** The pkcs11js binding; PKCS11_UNAVAILABLE when it is not installed or does not load. */
export function pkcs11Binding(): Pkcs11Binding {
  if (binding !== undefined) return binding;
  try {
    // createRequire: pkcs11js is CommonJS and a native addon; a synchronous load keeps the keyring synchronous.
    binding = createRequire(import.meta.url)('pkcs11js') as Pkcs11Binding;
    return binding;
  } catch (err) {
    throw new LockboxError(
      'PKCS11_UNAVAILABLE',
      'a pkcs11: key needs the optional package pkcs11js; install it (npm install pkcs11js) and approve its install script',
      { cause: err },
    );
  }
}

/** The module at `path`, loaded and initialised once per process. */
export function loadPkcs11Module(path: string): LoadedModule {
  const known = modules.get(path);
  if (known !== undefined) return known;
  const pkcs11 = pkcs11Binding();
  const module = new pkcs11.PKCS11();
  try {
    module.load(path);
    module.C_Initialize();
  } catch (err) {
    throw new LockboxError(
      'PKCS11_MODULE_LOAD_FAILED',
      `the PKCS#11 module ${path} cannot be loaded (${pkcs11ErrorName(err) ?? 'not a PKCS#11 library'})`,
      { cause: err, details: { modulePath: path } },
    );
  }
  const loaded = { binding: pkcs11, module, path };
  modules.set(path, loaded);
  return loaded;
}

/** The CKR_* name of a PKCS#11 error, or undefined for anything else. */
export function pkcs11ErrorName(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  return /\b(CKR_[A-Z0-9_]+)\b/.exec(err.message)?.[1];
}
