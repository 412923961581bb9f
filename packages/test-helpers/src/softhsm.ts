/**
 * SoftHSM2 tokens for tests, in a temporary directory of this process — never
 * the system's token directory.
 *
 * The first call points SOFTHSM2_CONF at a softhsm2.conf of its own (with its own
 * tokendir) before the module is loaded; SoftHSM reads it once, at C_Initialize,
 * and child processes (a spawned CLI) inherit it and see the same tokens. Each
 * newHsmToken() initialises a fresh token with a unique label on SoftHSM's free
 * slot, through the same in-process module the keys use (PKCS#11 allows one
 * C_Initialize per process). Suites use describeWithSoftHsm: they skip with a
 * warning on a workstation without softhsm2 or pkcs11js, and fail in CI.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePkcs11MasterKey, type Pkcs11MasterKey } from '@lockbox/core';
import { type LoadedModule, loadPkcs11Module, masterKeyAttributes } from '@lockbox/core/hazmat';
import type { describe } from 'vitest';
import { describeWithTool } from './tools.js';

const MODULE_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
];

/** The SoftHSM2 PKCS#11 module, or undefined when softhsm2 is not installed. */
export const SOFTHSM_MODULE = MODULE_CANDIDATES.find((path) => existsSync(path));

function bindingInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('pkcs11js');
    return true;
  } catch {
    return false;
  }
}

/** `describe` for suites that need SoftHSM2 and pkcs11js (skip on a workstation without them, fail in CI). */
export const describeWithSoftHsm: typeof describe.skip = describeWithTool(
  'softhsm2',
  SOFTHSM_MODULE !== undefined && bindingInstalled() ? SOFTHSM_MODULE : undefined,
);

let root: string | undefined;

/** Points SOFTHSM2_CONF at this process's own temporary token directory (once). */
export function softHsmDirectory(): string {
  if (root !== undefined) return root;
  const dir = mkdtempSync(join(tmpdir(), 'lockbox-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
    { mode: 0o600 },
  );
  process.env.SOFTHSM2_CONF = conf;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  root = dir;
  return dir;
}

export interface HsmToken {
  readonly label: string;
  readonly pin: string;
  /** A 0600 file holding the PIN, for pin-source=file:… */
  readonly pinFile: string;
  /** The URI of key object `object` on this token (module path and PIN file included). */
  uri(object: string): string;
}

function softHsm(): LoadedModule {
  softHsmDirectory();
  if (SOFTHSM_MODULE === undefined)
    throw new Error('softhsm2 is not installed (apt-get install softhsm2)');
  return loadPkcs11Module(SOFTHSM_MODULE);
}

/** A fresh, initialised token with a random label, its user PIN in a 0600 file. */
export function newHsmToken(): HsmToken {
  const { binding: p, module } = softHsm();
  const label = `lbt-${randomBytes(6).toString('hex')}`;
  const pin = randomBytes(8).toString('hex');
  const soPin = randomBytes(8).toString('hex');
  const free = module
    .C_GetSlotList(true)
    .find((slot) => (module.C_GetTokenInfo(slot).flags & p.CKF_TOKEN_INITIALIZED) === 0);
  if (free === undefined) throw new Error('SoftHSM2 offers no free slot');
  module.C_InitToken(free, soPin, label.padEnd(32, ' '));
  // SoftHSM moves an initialised token to a new slot id: find it by label.
  const slot = module
    .C_GetSlotList(true)
    .find((s) => module.C_GetTokenInfo(s).label.trim() === label);
  if (slot === undefined) throw new Error(`token ${label} not found after C_InitToken`);
  const session = module.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
  try {
    module.C_Login(session, p.CKU_SO, soPin);
    module.C_InitPIN(session, pin);
    module.C_Logout(session);
  } finally {
    module.C_CloseSession(session);
  }
  const pinFile = join(softHsmDirectory(), `${label}.pin`);
  writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  return {
    label,
    pin,
    pinFile,
    uri: (object) =>
      `pkcs11:token=${label};object=${object}?module-path=${SOFTHSM_MODULE}&pin-source=file:${pinFile}`,
  };
}

/** A new master key object `object` on `token` (a fresh token when none is given). */
export async function newHsmKey(
  token: HsmToken = newHsmToken(),
  object = `kek-${randomBytes(4).toString('hex')}`,
): Promise<{ key: Pkcs11MasterKey; uri: string; token: HsmToken }> {
  const uri = token.uri(object);
  return { key: await generatePkcs11MasterKey(uri), uri, token };
}

/** Closes every session of `token`, as a module does when it drops them (a reset, a failover). */
export function dropHsmSessions(token: HsmToken): void {
  const { module } = softHsm();
  for (const slot of module.C_GetSlotList(true)) {
    if (module.C_GetTokenInfo(slot).label.trim() === token.label) module.C_CloseAllSessions(slot);
  }
}

/**
 * Changes the user PIN of `token` (an operator rotating it, or a token taken
 * over): a process that logs in again with the PIN it read before is refused.
 */
export function changeHsmPin(token: HsmToken, from: string, to: string): void {
  withUserSession(token, from, (session, { module }) => module.C_SetPIN(session, from, to));
}

/** Runs `body` in a read-write session of `token`, logged in as its user with `pin`. */
function withUserSession(
  token: HsmToken,
  pin: string,
  body: (session: Buffer, loaded: LoadedModule) => void,
): void {
  const loaded = softHsm();
  const { binding: p, module } = loaded;
  const slot = module
    .C_GetSlotList(true)
    .find((s) => module.C_GetTokenInfo(s).label.trim() === token.label);
  if (slot === undefined) throw new Error(`token ${token.label} not found`);
  const session = module.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
  try {
    try {
      module.C_Login(session, p.CKU_USER, pin);
    } catch (err) {
      if (!String(err).includes('CKR_USER_ALREADY_LOGGED_IN')) throw err;
    }
    body(session, loaded);
  } finally {
    module.C_CloseSession(session);
  }
}

/**
 * Creates key object `object` on `token` from known bytes (test vectors only: a
 * real master key is generated on the token and its bytes never exist outside it).
 */
export function importHsmKey(token: HsmToken, object: string, bytes: Uint8Array): string {
  withUserSession(token, token.pin, (session, { binding: p, module }) => {
    module.C_CreateObject(session, [
      { type: p.CKA_VALUE, value: Buffer.from(bytes) },
      ...masterKeyAttributes(p, object),
    ]);
  });
  return token.uri(object);
}
