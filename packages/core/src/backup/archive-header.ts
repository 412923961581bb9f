/**
 * The part of a header line that bundles and snapshots check alike: the
 * "format" names the kind of archive, and "version" is a positive integer no
 * newer than this code reads. What the kinds then carry differs
 * (bundle-format.ts, snapshot-format.ts).
 */
import { LockboxError } from '../errors.js';
import { malformed } from './json-lines.js';

export interface ArchiveKind {
  /** The header's "format" value, e.g. "lockbox-bundle". */
  readonly format: string;
  /** The archive's name in messages: "bundle", "snapshot". */
  readonly noun: string;
  /** The newest format version this code reads. */
  readonly newest: number;
  /** What reading it is for, in the refusal of a newer one: "import it", "restore it". */
  readonly purpose: string;
}

/**
 * Checks the format and version of a header line; returns the version.
 * Throws BUNDLE_MALFORMED when it is not this kind's header and
 * BUNDLE_VERSION_UNSUPPORTED when its version is newer than `kind.newest`.
 */
export function checkArchiveVersion(
  object: Record<string, unknown>,
  line: number,
  kind: ArchiveKind,
): number {
  if (object.format !== kind.format) {
    throw malformed(
      line,
      `the first line must be a header with "format":"${kind.format}" (is this a Lockbox ${kind.noun}?)`,
    );
  }
  const version = object.version;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw malformed(line, 'the header\'s "version" must be a positive integer');
  }
  if (version > kind.newest) {
    const readable = kind.newest === 1 ? 'version 1' : `versions 1 to ${kind.newest}`;
    throw new LockboxError(
      'BUNDLE_VERSION_UNSUPPORTED',
      `the ${kind.noun} is format version ${version}; this Lockbox reads ${readable} (upgrade Lockbox to ${kind.purpose})`,
      { details: { version, supported: kind.newest } },
    );
  }
  return version;
}
