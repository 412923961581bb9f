// Open a store in one line, keep a secret, read it back.
// ENCRYPTION_KEY holds 32 random bytes (hex, base64 or base64url), for example
// from `openssl rand -base64 32` or `lockbox keygen`.
import { openLockbox } from '@lockbox/core';

const lockbox = await openLockbox({
  database: 'sqlite:./lockbox.db', // or postgres://user@host/db
  masterKey: process.env.ENCRYPTION_KEY,
});
try {
  await lockbox.secrets.set('user:42', 'github-token', 'ghp_example');
  console.log(await lockbox.secrets.get('user:42', 'github-token')); // ghp_example
  console.log((await lockbox.secrets.list({ scope: 'user:42' })).map((s) => s.name));
  await lockbox.secrets.delete('user:42', 'github-token');
} finally {
  await lockbox.close();
}
