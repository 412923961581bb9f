/**
 * Loads the public test-vector files kept in shared/vectors beside the repository
 * (Wycheproof, the Fernet spec). Tests read them as they are; nothing is copied.
 */
import { readFileSync } from 'node:fs';

const SHARED_VECTORS = new URL('../../../../../shared/vectors/', import.meta.url);

export function readSharedVectors<T>(relativePath: string): T {
  return JSON.parse(readFileSync(new URL(relativePath, SHARED_VECTORS), 'utf8')) as T;
}

/** A Wycheproof file: `numberOfTests` cases spread over groups. */
export interface WycheproofFile<Group> {
  readonly algorithm: string;
  readonly numberOfTests: number;
  readonly testGroups: readonly Group[];
}

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export const hex = (text: string): Buffer => Buffer.from(text, 'hex');
