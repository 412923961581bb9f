/** Types for generate.js, which stays plain JavaScript so `node` runs it without a build. */
export interface VectorCase {
  /** The file name in ./data, without ".json". */
  readonly file: string;
  readonly body: Record<string, unknown>;
}

export function buildVectors(): VectorCase[];
export function serialize(body: unknown): string;
