// Every read and write recorded in the hash-chained audit log, and errors
// handled by their stable code (docs/errors.md), never by their message.
import { isLockboxError, openLockbox } from '@lockbox/core';

const lockbox = await openLockbox({
  database: 'sqlite:./lockbox.db',
  masterKey: process.env.ENCRYPTION_KEY,
  audit: true,
  actor: { id: 'billing-service' },
});
try {
  await lockbox.secrets.set('prod', 'stripe-key', 'sk_live_example');
  try {
    await lockbox.secrets.get('prod', 'no-such-secret');
  } catch (err) {
    if (!isLockboxError(err, 'SECRET_NOT_FOUND')) throw err;
    console.log(`not found: ${err.code}`);
  }
  const [last] = await lockbox.audit.list({ order: 'desc', limit: 1 });
  console.log(last.action, last.outcome, last.actorId); // secret.read error billing-service
  console.log((await lockbox.audit.verify()).ok); // true
} finally {
  await lockbox.close();
}
