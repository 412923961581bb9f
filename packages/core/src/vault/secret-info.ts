/**
 * What Secrets hands back and takes besides values: a secret's record (never its
 * value), the options of its methods, the caller's metadata as stored, and the
 * errors that name a secret.
 */
import { LockboxError } from '../errors.js';
import type { ValueType } from '../store/schema.js';
import type { SecretRow } from '../store/secret-rows.js';
import type { Actor, AuditSink } from './audit-sink.js';
import { validateMetadata } from './text-input.js';

const MAX_METADATA_BYTES = 4096;

export interface SecretInfo {
  scope: string;
  name: string;
  version: number;
  type: ValueType;
  dataKeyId: string;
  metadata: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
  updatedBy: string | null;
}

export interface ListedSecret extends SecretInfo {
  /** 'undecryptable' when the configured keys cannot open it (with the reason's code). */
  status: 'ok' | 'undecryptable';
  error?: { code: string; message: string };
}

export interface SetOptions {
  metadata?: Record<string, unknown> | null;
  /** Compare-and-swap: write only if the stored version equals this (0 = must not exist). */
  ifVersion?: number;
  actor?: Actor;
  requestId?: string;
}

export interface ReadOptions {
  actor?: Actor;
  requestId?: string;
}

export interface SecretsOptions {
  maxValueBytes?: number;
  defaultActor?: Actor;
  audit?: AuditSink;
}

export function toInfo(row: SecretRow): SecretInfo {
  return {
    scope: row.scope,
    name: row.name,
    version: Number(row.version),
    type: row.value_type,
    dataKeyId: row.data_key_id,
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

/** The metadata column's text: validated, bounded (VALUE_TOO_LARGE), null for none. */
export function encodeMetadata(
  metadata: Record<string, unknown> | null | undefined,
): string | null {
  if (metadata === undefined || metadata === null) return null;
  // Bounded depth and well-formed strings first: JSON.stringify recurses.
  const text = JSON.stringify(validateMetadata(metadata));
  if (Buffer.byteLength(text) > MAX_METADATA_BYTES) {
    throw new LockboxError(
      'VALUE_TOO_LARGE',
      `metadata is larger than ${MAX_METADATA_BYTES} bytes`,
    );
  }
  return text;
}

export function versionConflict(scope: string, name: string, expected: number): LockboxError {
  return new LockboxError('VERSION_CONFLICT', `"${scope}/${name}" is not at version ${expected}`, {
    details: { scope, name, expected },
  });
}

export function notFound(scope: string, name: string): LockboxError {
  return new LockboxError('SECRET_NOT_FOUND', `no secret "${scope}/${name}"`, {
    details: { scope, name },
  });
}
