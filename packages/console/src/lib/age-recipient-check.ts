/**
 * A first look at a pasted recovery recipient, before anything is sent: an age
 * X25519 recipient is "age1" and 58 bech32 characters. The server checks it
 * fully (its checksum, RECIPIENT_INVALID); this catches the mistakes worth
 * catching in the browser — above all an identity pasted in its place, which
 * must never leave the page.
 */
export type RecipientCheck = 'ok' | 'empty' | 'identity' | 'malformed';

const X25519_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

export function checkRecipient(text: string): RecipientCheck {
  const value = text.trim();
  if (value === '') return 'empty';
  if (/^AGE-SECRET-KEY-/i.test(value)) return 'identity';
  return X25519_RECIPIENT.test(value) ? 'ok' : 'malformed';
}
