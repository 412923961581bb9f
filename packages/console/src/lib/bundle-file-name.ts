/** The name an exported bundle is saved under when the server suggests none. */

/** "lockbox-2025-01-31T12-00-00Z.age": sortable and safe on every file system. */
export function bundleFileName(now: Date): string {
  return `lockbox-${now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-')}.age`;
}
