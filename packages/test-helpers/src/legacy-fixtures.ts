/** Values written by Python's `cryptography` (fixtures/python-legacy.py writes the JSON). */
import { readFileSync } from 'node:fs';

export interface PythonFernetCase {
  readonly key: string;
  readonly token: string;
  readonly timestamp: number;
  readonly plaintext: string;
}

export interface PythonV2Case {
  readonly key: string;
  readonly text: string;
  readonly plaintext: string;
}

export const pythonLegacy = JSON.parse(
  readFileSync(new URL('../fixtures/python-legacy.json', import.meta.url), 'utf8'),
) as { readonly fernet: readonly PythonFernetCase[]; readonly v2: readonly PythonV2Case[] };
