/**
 * The database writer, on rollback and audit wipes: someone who can write every
 * Lockbox table (the tables live in the application's own database) but holds no
 * master key. Each test is one attack, done by hand in SQL as that attacker
 * would; each is refused (the value does not decrypt) or detected (`doctor`'s
 * version check, `audit verify`, an anchor), and the canary values never come
 * back where they should not. docs/security.md lists the same attacks.
 */

import { formatAnchor, type Lockbox, parseAnchor } from '@lockbox/core';
import { DIALECTS } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { entryHash } from '../../src/audit/audit-chain.js';
import { encodeHead } from '../../src/audit/audit-head.js';
import { AUDIT_SCOPE, AuditKeys } from '../../src/audit/audit-keys.js';
import { nowIso } from '../../src/clock.js';
import { encryptToText } from '../../src/crypto/ciphertext.js';
import { secretContext } from '../../src/crypto/context.js';
import { type AuditTestKit, auditTestKit, db } from '../audit/audit-test-kit.js';

const OLD = 'canary-old-7c1f0e9a';
const NEW = 'canary-new-4b2d8c31';

async function row(lockbox: Lockbox, scope: string, name: string) {
  return db(lockbox)
    .selectFrom('lockbox_secrets')
    .selectAll()
    .where('scope', '=', scope)
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
}

/** The error a read gives, as JSON (code, message, details): it must name no value. */
async function readError(lockbox: Lockbox, scope: string, name: string): Promise<string> {
  const err = await lockbox.secrets.get(scope, name).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toMatchObject({
    code: 'SECRET_UNDECRYPTABLE',
    details: { reason: 'DECRYPT_FAILED' },
  });
  const e = err as { code: string; message: string; details: unknown };
  return JSON.stringify({ code: e.code, message: e.message, details: e.details });
}

describe.each(DIALECTS)('a database writer without the master key, on %s', (dialect) => {
  let kit: AuditTestKit;

  afterEach(async () => {
    await kit?.close();
  });

  it('cannot put an older ciphertext back under the current version: it is refused', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await lockbox.secrets.set('prod', 'api-key', OLD);
    const before = await row(lockbox, 'prod', 'api-key');
    expect(before.ciphertext.startsWith('lb2:')).toBe(true);
    await lockbox.secrets.set('prod', 'api-key', NEW);
    await db(lockbox)
      .updateTable('lockbox_secrets')
      .set({ ciphertext: before.ciphertext, data_key_id: before.data_key_id })
      .where('scope', '=', 'prod')
      .where('name', '=', 'api-key')
      .execute();
    const error = await readError(lockbox, 'prod', 'api-key');
    expect(error).not.toContain(OLD);
    expect(error).not.toContain(NEW);
    // The audited read path refuses it too, and the census counts it.
    const census = await lockbox.rotation.census({ verify: true });
    expect(census.secrets.unreadableByReason).toEqual({ DECRYPT_FAILED: 1 });
  });

  it('cannot relabel an lb2: ciphertext as lb1: to drop its version binding', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await lockbox.secrets.set('prod', 'api-key', OLD);
    await lockbox.secrets.set('prod', 'api-key', NEW);
    const current = await row(lockbox, 'prod', 'api-key');
    await db(lockbox)
      .updateTable('lockbox_secrets')
      .set({ ciphertext: `lb1:${current.ciphertext.slice(4)}` })
      .execute();
    expect(await readError(lockbox, 'prod', 'api-key')).not.toContain(NEW);
  });

  it('cannot put a ciphertext from an earlier life of the row back after delete and re-create', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await lockbox.secrets.set('prod', 'api-key', OLD);
    const first = await row(lockbox, 'prod', 'api-key');
    await lockbox.secrets.delete('prod', 'api-key');
    await lockbox.secrets.set('prod', 'api-key', NEW);
    expect((await row(lockbox, 'prod', 'api-key')).version).toBe(first.version);
    await db(lockbox)
      .updateTable('lockbox_secrets')
      .set({ ciphertext: first.ciphertext })
      .where('scope', '=', 'prod')
      .where('name', '=', 'api-key')
      .execute();
    expect(await readError(lockbox, 'prod', 'api-key')).not.toContain(OLD);
  });

  it('rolls a row back whole (ciphertext, version, created_at): it reads, and doctor reports it', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await lockbox.secrets.set('prod', 'api-key', OLD);
    const v1 = await row(lockbox, 'prod', 'api-key');
    await lockbox.secrets.set('prod', 'api-key', NEW);
    await lockbox.secrets.set('prod', 'other', 'fine');
    expect(await lockbox.audit.checkSecretVersions()).toMatchObject({
      auditOk: true,
      compared: 2,
      mismatches: [],
    });
    await db(lockbox)
      .updateTable('lockbox_secrets')
      .set({ ciphertext: v1.ciphertext, version: v1.version, updated_at: v1.updated_at })
      .where('scope', '=', 'prod')
      .where('name', '=', 'api-key')
      .execute();
    // Self-consistent: the row alone cannot tell (docs/security.md says so).
    expect(await lockbox.secrets.get('prod', 'api-key')).toBe(OLD);
    const check = await lockbox.audit.checkSecretVersions();
    expect(check.mismatches).toEqual([
      { kind: 'rolled-back', scope: 'prod', name: 'api-key', stored: 1, audited: 2 },
    ]);
    expect(JSON.stringify(check)).not.toContain(OLD);
    expect(JSON.stringify(check)).not.toContain(NEW);
  });

  it('puts a deleted secret back, or deletes one by hand: doctor reports both', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await lockbox.secrets.set('prod', 'revoked', OLD);
    await lockbox.secrets.set('prod', 'kept', NEW);
    const revoked = await row(lockbox, 'prod', 'revoked');
    await lockbox.secrets.delete('prod', 'revoked');
    await db(lockbox).insertInto('lockbox_secrets').values(revoked).execute();
    await db(lockbox).deleteFrom('lockbox_secrets').where('name', '=', 'kept').execute();
    const check = await lockbox.audit.checkSecretVersions();
    expect(check.counts).toEqual({ 'rolled-back': 0, resurrected: 1, vanished: 1, ahead: 0 });
    expect(check.mismatches.map((m) => [m.kind, m.name])).toEqual([
      ['resurrected', 'revoked'],
      ['vanished', 'kept'],
    ]);
  });

  it('can replay a pre-format-2 (lb1:) ciphertext until a data re-key moves the rows forward, then not', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await lockbox.secrets.set('prod', 'api-key', 'placeholder');
    // A row as an older release wrote it: lb1:, bound to scope, name and type only.
    const key = await lockbox.vault.dataKeys.activeFor('prod');
    const lb1 = encryptToText(
      key.idBytes,
      key.key,
      Buffer.from(OLD),
      secretContext('prod', 'api-key'),
    );
    await db(lockbox).updateTable('lockbox_secrets').set({ ciphertext: lb1 }).execute();
    expect(await lockbox.secrets.get('prod', 'api-key')).toBe(OLD);
    await lockbox.secrets.set('prod', 'api-key', NEW);
    // Not refused: lb1: binds no version (docs/security.md lists this).
    await db(lockbox).updateTable('lockbox_secrets').set({ ciphertext: lb1 }).execute();
    expect(await lockbox.secrets.get('prod', 'api-key')).toBe(OLD);
    expect((await lockbox.rotation.census()).secrets.versionless).toBe(1);
    await lockbox.secrets.set('prod', 'api-key', NEW);
    expect((await lockbox.rotation.census()).secrets.versionless).toBe(0);
    // The row as an upgrade finds it (lb1:, counted by the census for doctor): a re-key moves it forward.
    await db(lockbox).updateTable('lockbox_secrets').set({ ciphertext: lb1 }).execute();

    await lockbox.rotation.rekeyData();
    const moved = await row(lockbox, 'prod', 'api-key');
    expect(moved.ciphertext.startsWith('lb2:')).toBe(true);
    expect(await lockbox.secrets.get('prod', 'api-key')).toBe(OLD);
    expect((await lockbox.rotation.census()).secrets.versionless).toBe(0);
    // The old data key is destroyed: the old lb1: text opens nothing any more.
    await db(lockbox)
      .updateTable('lockbox_secrets')
      .set({ ciphertext: lb1, data_key_id: key.id })
      .execute();
    const err = await lockbox.secrets.get('prod', 'api-key').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SECRET_UNDECRYPTABLE' });
    expect(JSON.stringify(err)).not.toContain(OLD);
  });

  it('wipes every audit row and the head: verify reports it, and the next append does not hide it', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await lockbox.secrets.set('prod', 'api-key', NEW);
    await lockbox.secrets.get('prod', 'api-key');
    await db(lockbox).deleteFrom('lockbox_audit').execute();
    await db(lockbox).deleteFrom('lockbox_meta').where('key', '=', 'audit_head').execute();
    expect(await lockbox.audit.verify()).toMatchObject({
      ok: false,
      reason: 'deleted',
      firstBroken: 1,
    });
    // Another handle (a restarted server) appends: the chain is not silently restarted.
    const restarted = await kit.open();
    await restarted.secrets.get('prod', 'api-key');
    expect(await restarted.audit.verify()).toMatchObject({ ok: false, reason: 'deleted' });
    expect((await restarted.audit.checkSecretVersions()).auditOk).toBe(false);
  });

  it('re-key starts a new audit key: old entries verify, the old key cannot extend the log', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await lockbox.secrets.set('prod', 'api-key', NEW);
    const oldKeyId = (await lockbox.audit.list({ order: 'desc', limit: 1 }))[0]?.keyId;
    await lockbox.rotation.rekeyData();
    await lockbox.secrets.get('prod', 'api-key');
    const entries = await lockbox.audit.list({ limit: 1000 });
    const newKeyId = entries[entries.length - 1]?.keyId;
    expect(newKeyId).not.toBe(oldKeyId);
    const keys = await db(lockbox)
      .selectFrom('lockbox_data_keys')
      .select(['id', 'state', 'version'])
      .where('scope', '=', AUDIT_SCOPE)
      .orderBy('version')
      .execute();
    expect(keys.map((k) => [k.id, k.state])).toEqual([
      [oldKeyId, 'retiring'],
      [newKeyId, 'active'],
    ]);
    const verified = await lockbox.audit.verify();
    expect(verified).toMatchObject({ ok: true, entries: entries.length });
    const census = await lockbox.rotation.census();
    expect(census.auditKeys).toEqual({ active: 1, verifyOnly: 1 });
    expect(census.dataKeys.retiring).toBe(0);

    // Whoever took the old data keys holds the old audit key: append under it and move the head.
    const oldKey = await new AuditKeys(db(lockbox), lockbox.vault.dataKeys).byId(oldKeyId ?? '');
    if (oldKey === undefined) throw new Error('the old audit key must stay verify-only');
    const last = entries[entries.length - 1]!;
    const fields = {
      chain: 0,
      chain_seq: last.seq + 1,
      at: nowIso(),
      actor_id: 'attacker',
      actor_name: null,
      action: 'secret.set',
      scope: 'prod',
      name: 'api-key',
      outcome: 'ok' as const,
      request_id: null,
      details: '{"version":1}',
      prev_hash: last.hash,
      key_id: oldKey.id,
    };
    await db(lockbox)
      .insertInto('lockbox_audit')
      .values({ ...fields, hash: entryHash(oldKey, fields) })
      .execute();
    await sql`update lockbox_meta set value = ${encodeHead(oldKey, { seq: fields.chain_seq, hash: entryHash(oldKey, fields) })} where key = 'audit_head'`.execute(
      db(lockbox),
    );
    expect(await lockbox.audit.verify()).toMatchObject({
      ok: false,
      reason: 'edited',
      firstBroken: fields.chain_seq,
    });
  });

  it('restores an older head after deleting later entries: only an anchor detects it', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await lockbox.secrets.set('prod', 'api-key', OLD);
    const saved = await db(lockbox)
      .selectFrom('lockbox_meta')
      .select('value')
      .where('key', '=', 'audit_head')
      .executeTakeFirstOrThrow();
    await lockbox.secrets.set('prod', 'api-key', NEW);
    await lockbox.secrets.get('prod', 'api-key');
    const anchor = await lockbox.audit.anchor();
    if (anchor === null) throw new Error('a log with entries has an anchor');
    expect(await lockbox.audit.verify({ anchor })).toMatchObject({ ok: true, entries: 3 });

    await db(lockbox).deleteFrom('lockbox_audit').where('seq', '>', 1).execute();
    await db(lockbox)
      .updateTable('lockbox_meta')
      .set({ value: saved.value })
      .where('key', '=', 'audit_head')
      .execute();
    // The truncated log is self-consistent, and so is the secret rolled back with it.
    expect(await lockbox.audit.verify()).toMatchObject({ ok: true, entries: 1 });
    expect(await lockbox.audit.verify({ anchor })).toMatchObject({
      ok: false,
      reason: 'deleted',
      firstBroken: 2,
    });
  });

  it('wipes the log, its head and its key: the store looks never audited, except to an anchor', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await lockbox.secrets.set('prod', 'api-key', NEW);
    const anchor = await lockbox.audit.anchor();
    if (anchor === null) throw new Error('a log with entries has an anchor');
    await db(lockbox).deleteFrom('lockbox_audit').execute();
    await db(lockbox).deleteFrom('lockbox_meta').where('key', '=', 'audit_head').execute();
    await db(lockbox).deleteFrom('lockbox_data_keys').where('scope', '=', AUDIT_SCOPE).execute();
    const fresh = await kit.open();
    expect(await fresh.audit.verify()).toMatchObject({ ok: true, entries: 0 });
    expect(await fresh.audit.verify({ anchor })).toMatchObject({ ok: false, reason: 'deleted' });
  });

  it("cannot edit an anchor, or pass another store's: AUDIT_ANCHOR_INVALID", async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await lockbox.secrets.set('prod', 'api-key', NEW);
    await lockbox.secrets.get('prod', 'api-key');
    const anchor = await lockbox.audit.anchor();
    if (anchor === null) throw new Error('a log with entries has an anchor');
    const text = formatAnchor(anchor);
    expect(parseAnchor(text)).toEqual(anchor);
    // An older seq would let a later truncation pass: the MAC covers it.
    const seq = anchor.heads[0]?.seq ?? 0;
    const edited = text.replace(`seq=${seq}`, `seq=${seq - 1}`);
    await expect(lockbox.audit.verify({ anchor: edited })).rejects.toMatchObject({
      code: 'AUDIT_ANCHOR_INVALID',
    });
    const other = text.replace(`store=${anchor.storeId}`, 'store=another-store');
    await expect(lockbox.audit.verify({ anchor: other })).rejects.toMatchObject({
      code: 'AUDIT_ANCHOR_INVALID',
    });
    for (const bad of ['', 'lockbox-audit-anchor/1', `${text} extra`, `${text}\n${text}`]) {
      await expect(lockbox.audit.verify({ anchor: bad })).rejects.toMatchObject({
        code: 'AUDIT_ANCHOR_INVALID',
      });
    }
  });
});
