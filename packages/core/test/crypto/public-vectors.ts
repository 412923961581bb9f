/**
 * Loads the public test-vector files copied into test/vectors/public (Wycheproof,
 * the Fernet spec; sources and licences in its README). Tests read them as they are.
 */
import { readFileSync } from 'node:fs';

const PUBLIC_VECTORS = new URL('../vectors/public/', import.meta.url);

export function readPublicVectors<T>(relativePath: string): T {
  return JSON.parse(readFileSync(new URL(relativePath, PUBLIC_VECTORS), 'utf8')) as T;
}

/** A Wycheproof file: `numberOfTests` cases spread over groups. */
export interface WycheproofFile<Group> {
  readonly algorithm: string;
  readonly numberOfTests: number;
  readonly testGroups: readonly Group[];
}

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export const hex = (text: string): Buffer => Buffer.from(text, 'hex');
