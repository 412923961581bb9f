/**
 * Writes the Lockbox format test vectors: one JSON file per case in ./data.
 *
 * The cases are built by a second, independent implementation of
 * docs/format.md (reference-format.js: node:crypto only) with fixed keys and
 * nonces, so the output is deterministic and rerunning changes nothing.
 * format-vectors.test.ts checks every file against the library and checks that
 * the committed files are exactly what this script writes.
 *
 * Run: npm run vectors
 *
 * Every case has `kind` ("ciphertext", "wrapped_key", "fingerprint", "context",
 * "master_key"), `description` and `expect`, one of:
 *   "success"         the reader returns `plaintext` (or the value shown)
 *   "decrypt_failed"  the text parses but does not authenticate under `key` and `context`
 *   "malformed"       the text has the format's tag but cannot be a value of that format
 *   "unknown_format"  the text does not start with the format's tag
 * `lockbox_error` (informative) names the error code Lockbox gives for a refusal.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ciphertextCases } from './ciphertext-cases.js';
import { contextCases, fingerprintCases, masterKeyCases } from './key-and-context-cases.js';
import { rowCiphertextCases } from './row-ciphertext-cases.js';
import { wrappedKeyCases } from './wrapped-key-cases.js';

const DATA_DIR = new URL('./data/', import.meta.url);

/** Every case as { file, body } (file without ".json"), in a fixed order. */
export function buildVectors() {
  return [
    ...ciphertextCases(),
    ...rowCiphertextCases(),
    ...wrappedKeyCases(),
    ...fingerprintCases(),
    ...contextCases(),
    ...masterKeyCases(),
  ];
}

/** The exact text written for a case: two-space JSON and a final newline. */
export function serialize(body) {
  return `${JSON.stringify(body, null, 2)}\n`;
}

function main() {
  mkdirSync(DATA_DIR, { recursive: true });
  for (const name of readdirSync(DATA_DIR)) {
    if (name.endsWith('.json')) rmSync(new URL(name, DATA_DIR));
  }
  const cases = buildVectors();
  for (const { file, body } of cases) {
    writeFileSync(new URL(`${file}.json`, DATA_DIR), serialize(body));
  }
  console.log(`wrote ${cases.length} vectors to ${DATA_DIR.pathname}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main();
}
