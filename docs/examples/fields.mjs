// A credential column in the application's own table, keyed by two columns.
// Lockbox encrypts the value bound to the table, the column and the whole row
// key: a ciphertext copied into another row does not decrypt.
import { openLockbox } from '@lockbox/core';
import Database from 'better-sqlite3';

const app = new Database('./lockbox.db'); // the application's own connection
app.exec(`create table if not exists user_keys (
  user_id integer not null, provider text not null, api_key text,
  primary key (user_id, provider))`);

const lockbox = await openLockbox({
  database: 'sqlite:./lockbox.db',
  masterKey: process.env.ENCRYPTION_KEY,
});
try {
  await lockbox.fields.register({
    table: 'user_keys',
    column: 'api_key',
    primaryKey: ['user_id', 'provider'],
  });
  const row = { user_id: 42, provider: 'openai' };
  const ciphertext = await lockbox.fields.encrypt('user_keys', 'api_key', row, 'sk-example');
  app
    .prepare('insert or replace into user_keys (user_id, provider, api_key) values (?, ?, ?)')
    .run(row.user_id, row.provider, ciphertext);

  const stored = app
    .prepare('select api_key from user_keys where user_id = ? and provider = ?')
    .get(42, 'openai');
  console.log(await lockbox.fields.decrypt('user_keys', 'api_key', row, stored.api_key));
} finally {
  await lockbox.close();
  app.close();
}
