/**
 * Master key files for the soak: the new key is written the way `lockbox init`
 * writes one (32 random bytes, standard base64, a newline, mode 0600), and the
 * configuration files name the key files — never the keys themselves.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

/** @param {string} path */
export function writeNewMasterKeyFile(path) {
  writeFileSync(path, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
}

/** The key text in a key file (for the proof of possession a rotation request carries). @param {string} path */
export function readKeyText(path) {
  return readFileSync(path, 'utf8').trim();
}

/**
 * A lockbox.json: the database and the key files, as an operator would write it.
 * @param {string} path
 * @param {{ database: string, masterKeyFile: string, previousKeyFiles?: string[] }} config
 */
export function writeConfigFile(path, config) {
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
}
