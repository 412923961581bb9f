/**
 * How the embedding program keeps its key configuration in step with a master
 * rotation started over HTTP. The server itself knows nothing of key files or
 * environment variables; `lockbox serve` passes a hook that makes its key files
 * follow the rotation (the same crash-safe swap as `lockbox rotate master`).
 * Without a hook the rotation runs as is, and the instance must be given the new
 * key as primary before its next restart.
 */
import type { MasterRotationResult } from '@lockbox/core';

/** What the configuration did after a rotation: followed it, or stayed (and what to change). */
export interface KeyConfigurationChange {
  /** true: the configured key files now hold the new key as primary, the old one as previous. */
  followed: boolean;
  /** One line for the log: what changed, or what the operator must change before a restart. */
  message: string;
}

export interface MasterRotationHook {
  /**
   * Runs a (non-dry-run) master rotation from `oldKey` to `newKey` (key texts, as
   * in the request). `rotate(true)` proves the keys and writes nothing;
   * `rotate(false)` rotates. The hook calls them in its order and may refuse with
   * a LockboxError (the request then fails with that code).
   */
  masterRotation(
    keys: { oldKey: string; newKey: string },
    rotate: (dryRun: boolean) => Promise<MasterRotationResult>,
  ): Promise<{ result: MasterRotationResult; change: KeyConfigurationChange }>;
  /** After POST /v1/rotation/resume finished a master rotation. */
  masterResumed(result: MasterRotationResult): Promise<KeyConfigurationChange>;
}
