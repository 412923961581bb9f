/**
 * The benchmarks measure the built packages (what users install), never the
 * TypeScript sources. This module finds them and says how to build them when
 * they are missing.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** @param {'core' | 'server'} name */
export function builtEntry(name) {
  return join(REPO_ROOT, 'packages', name, 'dist', 'index.js');
}

export function isBuilt(name) {
  return existsSync(builtEntry(name));
}

/**
 * Imports a built package; exits with a clear message when it has not been
 * built. For core, the root and @lockbox/core/hazmat together: the benchmarks
 * seed stores in bulk and run hand-written peers with the primitives.
 */
export async function importBuilt(name) {
  const entry = builtEntry(name);
  if (!existsSync(entry)) {
    console.error(`${entry} does not exist: run \`npm run build\` first.`);
    process.exit(2);
  }
  const root = await import(pathToFileURL(entry).href);
  if (name !== 'core') return root;
  const hazmat = await import(pathToFileURL(join(dirname(entry), 'hazmat.js')).href);
  return { ...root, ...hazmat };
}
