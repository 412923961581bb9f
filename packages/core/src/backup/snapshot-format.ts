/**
 * The snapshot format, version 1: a store's encrypted rows, copied without
 * decrypting anything, for moving a store to another database under the same
 * master key(s). docs/backup-and-recovery.md describes it.
 *
 * UTF-8 JSON lines, in this order:
 *   {"format":"lockbox-snapshot","version":1,"createdAt","storeId","schemaVersion",
 *    "masterFingerprints":[…],"recoveryRecipient":"age1…"|null,
 *    "counts":{"dataKeys":N,"fields":N,"secrets":N}}
 *   {"type":"dataKey","id","scope","version","wrapped","masterFingerprint","wrappedRecovery","state","createdAt","updatedAt"}  …
 *   {"type":"field","table","column","primaryKey","scope","createdAt"}  …
 *   {"type":"secret","scope","name","version","valueType","ciphertext","dataKeyId","metadata","createdAt","updatedAt","updatedBy"}  …
 *   {"end":true,"records":N}
 *
 * The trailer is required (snapshots are machine-made). Rows hold only wrapped
 * data keys and ciphertexts — still, names, scopes and metadata are visible, so
 * snapshots are age-encrypted by default too.
 */
import type { DataKeyState, ValueType } from '../store/schema.js';
import { type ArchiveKind, checkArchiveVersion } from './archive-header.js';
import {
  checkFields,
  malformed,
  optionalString,
  requireCount,
  requireString,
} from './json-lines.js';

export const SNAPSHOT_FORMAT = 'lockbox-snapshot';
export const SNAPSHOT_VERSION = 1;

const SNAPSHOT_KIND: ArchiveKind = {
  format: SNAPSHOT_FORMAT,
  noun: 'snapshot',
  newest: SNAPSHOT_VERSION,
  purpose: 'restore it',
};

export interface SnapshotHeader {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  createdAt: string;
  storeId: string;
  schemaVersion: number;
  /** Fingerprints of the master keys that wrap the snapshot's live data keys. */
  masterFingerprints: string[];
  recoveryRecipient: string | null;
  counts: { dataKeys: number; fields: number; secrets: number };
}

export interface SnapshotDataKey {
  type: 'dataKey';
  id: string;
  scope: string;
  version: number;
  wrapped: string | null;
  masterFingerprint: string | null;
  wrappedRecovery: string | null;
  state: DataKeyState;
  createdAt: string;
  updatedAt: string;
}

export interface SnapshotField {
  type: 'field';
  table: string;
  column: string;
  primaryKey: string;
  scope: string;
  createdAt: string;
}

export interface SnapshotSecret {
  type: 'secret';
  scope: string;
  name: string;
  version: number;
  valueType: ValueType;
  ciphertext: string;
  dataKeyId: string;
  /** The metadata column as stored (JSON text) or null. */
  metadata: string | null;
  createdAt: string;
  updatedAt: string;
  updatedBy: string | null;
}

export type SnapshotRow = SnapshotDataKey | SnapshotField | SnapshotSecret;

const DATA_KEY_STATES: readonly DataKeyState[] = ['active', 'retiring', 'destroyed'];
const VALUE_TYPES: readonly ValueType[] = ['utf8', 'bytes'];

function nullableString(
  object: Record<string, unknown>,
  field: string,
  line: number,
): string | null {
  if (!(field in object)) throw malformed(line, `a row has no "${field}" field`);
  return optionalString(object, field, line) ?? null;
}

function positive(object: Record<string, unknown>, field: string, line: number): number {
  const value = requireCount(object, field, line);
  if (value < 1) throw malformed(line, `"${field}" must be at least 1`);
  return value;
}

export function parseSnapshotHeader(object: Record<string, unknown>, line: number): SnapshotHeader {
  const version = checkArchiveVersion(object, line, SNAPSHOT_KIND);
  checkFields(object, line, 'the header', [
    'format',
    'version',
    'createdAt',
    'storeId',
    'schemaVersion',
    'masterFingerprints',
    'recoveryRecipient',
    'counts',
  ]);
  const fingerprints = object.masterFingerprints;
  if (!Array.isArray(fingerprints) || !fingerprints.every((f) => typeof f === 'string')) {
    throw malformed(line, '"masterFingerprints" must be an array of strings');
  }
  const counts = object.counts;
  if (typeof counts !== 'object' || counts === null || Array.isArray(counts)) {
    throw malformed(line, '"counts" must be an object');
  }
  const countRecord = counts as Record<string, unknown>;
  checkFields(countRecord, line, '"counts"', ['dataKeys', 'fields', 'secrets']);
  return {
    format: SNAPSHOT_FORMAT,
    version,
    createdAt: requireString(object, 'createdAt', line),
    storeId: requireString(object, 'storeId', line),
    schemaVersion: requireCount(object, 'schemaVersion', line),
    masterFingerprints: fingerprints as string[],
    recoveryRecipient: nullableString(object, 'recoveryRecipient', line),
    counts: {
      dataKeys: requireCount(countRecord, 'dataKeys', line),
      fields: requireCount(countRecord, 'fields', line),
      secrets: requireCount(countRecord, 'secrets', line),
    },
  };
}

/** Validates a row line (its shape only; restore checks keys and ciphertexts). */
export function parseSnapshotRow(object: Record<string, unknown>, line: number): SnapshotRow {
  switch (object.type) {
    case 'dataKey': {
      checkFields(object, line, 'a dataKey row', [
        'type',
        'id',
        'scope',
        'version',
        'wrapped',
        'masterFingerprint',
        'wrappedRecovery',
        'state',
        'createdAt',
        'updatedAt',
      ]);
      const state = requireString(object, 'state', line) as DataKeyState;
      if (!DATA_KEY_STATES.includes(state))
        throw malformed(line, `unknown data key state "${state}"`);
      const id = requireString(object, 'id', line);
      if (!/^[0-9a-f]{16}$/.test(id)) throw malformed(line, 'a data key id is 16 hex characters');
      return {
        type: 'dataKey',
        id,
        scope: requireString(object, 'scope', line),
        version: positive(object, 'version', line),
        wrapped: nullableString(object, 'wrapped', line),
        masterFingerprint: nullableString(object, 'masterFingerprint', line),
        wrappedRecovery: nullableString(object, 'wrappedRecovery', line),
        state,
        createdAt: requireString(object, 'createdAt', line),
        updatedAt: requireString(object, 'updatedAt', line),
      };
    }
    case 'field':
      checkFields(object, line, 'a field row', [
        'type',
        'table',
        'column',
        'primaryKey',
        'scope',
        'createdAt',
      ]);
      return {
        type: 'field',
        table: requireString(object, 'table', line),
        column: requireString(object, 'column', line),
        primaryKey: requireString(object, 'primaryKey', line),
        scope: requireString(object, 'scope', line),
        createdAt: requireString(object, 'createdAt', line),
      };
    case 'secret': {
      checkFields(object, line, 'a secret row', [
        'type',
        'scope',
        'name',
        'version',
        'valueType',
        'ciphertext',
        'dataKeyId',
        'metadata',
        'createdAt',
        'updatedAt',
        'updatedBy',
      ]);
      const valueType = requireString(object, 'valueType', line) as ValueType;
      if (!VALUE_TYPES.includes(valueType))
        throw malformed(line, `unknown value type "${valueType}"`);
      return {
        type: 'secret',
        scope: requireString(object, 'scope', line),
        name: requireString(object, 'name', line),
        version: positive(object, 'version', line),
        valueType,
        ciphertext: requireString(object, 'ciphertext', line),
        dataKeyId: requireString(object, 'dataKeyId', line),
        metadata: nullableString(object, 'metadata', line),
        createdAt: requireString(object, 'createdAt', line),
        updatedAt: requireString(object, 'updatedAt', line),
        updatedBy: nullableString(object, 'updatedBy', line),
      };
    }
    default:
      throw malformed(line, 'a row\'s "type" must be dataKey, field or secret');
  }
}
