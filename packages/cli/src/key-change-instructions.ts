/**
 * What to change in the key configuration after a master rotation, in order,
 * when Lockbox did not change it itself: keys from environment variables or
 * stdin, explicit key flags, or --keep-key-files. Fingerprints and file paths
 * only, never a key.
 */
import type { SwapReport } from './key-file-rotation.js';

export interface KeyChange {
  from: string;
  to: string;
  /** Where the old and new keys came from (a file path, a variable name, "stdin"). */
  oldSource: string;
  newSource: string;
  /** Where the configured primary comes from (config.primaryKeySource), if anywhere. */
  primarySource: string | undefined;
  /** The fingerprint of the configured primary key, if one is configured. */
  configuredPrimary: string | undefined;
  /** The command that rotates the same keys again (sweeps data keys made meanwhile). */
  rerun: string;
}

function where(source: string): string {
  return source === 'stdin' ? 'the key you gave on stdin' : `the key in ${source}`;
}

function primaryChange(change: KeyChange): string {
  const source = change.primarySource;
  if (source === 'LOCKBOX_MASTER_KEY')
    return `set LOCKBOX_MASTER_KEY to ${where(change.newSource)}`;
  if (source === undefined || source === 'stdin') {
    return `configure ${where(change.newSource)} as the primary key (LOCKBOX_MASTER_KEY, LOCKBOX_MASTER_KEY_FILE or --master-key-file)`;
  }
  return `replace the primary key file ${source} with ${where(change.newSource)} (or point LOCKBOX_MASTER_KEY_FILE / --master-key-file at it)`;
}

/** The lines printed after a rotation whose key configuration Lockbox left unchanged. */
export function keyChangeInstructions(change: KeyChange): string[] {
  const { from, to } = change;
  const keepOld = `keep the old key ${from} (${change.oldSource === 'stdin' ? 'given on stdin' : `from ${change.oldSource}`}) as a previous key (LOCKBOX_PREVIOUS_KEYS, --previous-key-file or previousKeyFiles)`;
  if (change.configuredPrimary === to) {
    return [
      `The configured primary key is already the new key ${to}.`,
      `Until \`lockbox doctor\` says ${from} is no longer needed, ${keepOld}; then remove it (keep an offline copy while backups from before this rotation exist).`,
    ];
  }
  return [
    `The key configuration was not changed. Change it in this order:`,
    '  One instance:',
    `    1. ${primaryChange(change)}, and ${keepOld}; restart anything that runs Lockbox.`,
    `    2. When \`lockbox doctor\` says ${from} is no longer needed, remove it from the previous keys (keep an offline copy while backups from before this rotation exist).`,
    '  Several instances sharing this store:',
    `    1. On every instance, one at a time (drained): the change of step 1 above, then restart it. Until then an instance can only open the data keys it has cached.`,
    `    2. Run \`${change.rerun}\` again: it rewraps the data keys instances made under ${from} before their restart (until "remaining" is 0).`,
    `    3. When \`lockbox doctor\` says ${from} is no longer needed, remove it from every instance, restarting them one at a time.`,
    '  Next time, stage the new key first (docs/operations.md, "Rotating keys with several instances").',
  ];
}

/** The lines printed after the key files followed a rotation. */
export function swapLines(swap: SwapReport, from: string, to: string, shared: boolean): string[] {
  const lines = [
    `${swap.primary} now holds the new master key ${to}; the old key ${from} is kept in ${swap.previous} and read as a previous key.`,
  ];
  if (swap.retired !== undefined) {
    lines.push(
      `The key that was in ${swap.previous} is no longer needed by the store; it was moved to ${swap.retired} (delete it once no backup needs it).`,
    );
  }
  lines.push(
    `When \`lockbox doctor\` says ${from} is no longer needed, delete ${swap.previous} (keep an offline copy while backups from before this rotation exist). Back up the new key now.`,
  );
  if (shared) {
    lines.push(
      `Other instances sharing this store need the new key too: give each the new key as primary and the old one as previous, restarting them one at a time, then run \`lockbox rotate master --old-key-file ${swap.previous} --new-key-file ${swap.primary} --keep-key-files\` to rewrap the data keys they made under ${from} meanwhile.`,
    );
  }
  return lines;
}
