/**
 * A recovery key pair made in this browser: an age X25519 identity and its
 * recipient, by the age-encryption library (loaded only when asked, so the
 * console's main bundle stays small). The identity is never sent anywhere and
 * never stored: the caller offers it once as a file (recoveryIdentityFile) and
 * then drops it; only the recipient goes to the server.
 */
export interface RecoveryKeyPair {
  identity: string;
  recipient: string;
}

export async function generateRecoveryKeyPair(): Promise<RecoveryKeyPair> {
  const age = await import('age-encryption');
  const identity = await age.generateX25519Identity();
  return { identity, recipient: await age.identityToRecipient(identity) };
}

/** The identity as age-keygen writes it, so `age -d -i` and `lockbox recover` read it. */
export function recoveryIdentityFile(pair: RecoveryKeyPair, created: Date): string {
  return [
    `# created: ${created.toISOString()}`,
    `# public key: ${pair.recipient}`,
    '# Lockbox recovery identity: keep it offline; whoever holds it and a copy of',
    '# the database can read every secret.',
    pair.identity,
    '',
  ].join('\n');
}

/** lockbox-recovery-identity-<date>.txt, the date as YYYY-MM-DD in UTC. */
export function recoveryIdentityFileName(created: Date): string {
  return `lockbox-recovery-identity-${created.toISOString().slice(0, 10)}.txt`;
}
