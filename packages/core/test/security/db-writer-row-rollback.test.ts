/**
 * The database writer, putting an authenticated row back whole: a row they
 * copied earlier, MAC included, is genuine, so the row MAC cannot refuse it. The
 * audit log recorded the change the copy undoes, and `checkRowStates` (doctor)
 * reports the difference. Each test does the attack by hand in SQL.
 */

import { DIALECTS } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { generateAgeIdentity } from '../../src/keys/age-identity.js';
import { type AuditTestKit, auditTestKit, db } from '../audit/audit-test-kit.js';

describe.each(DIALECTS)(
  'a database writer putting back an older authenticated row, on %s',
  (dialect) => {
    let kit: AuditTestKit;

    afterEach(async () => {
      await kit?.close();
    });

    it('un-revoking a token with its pre-revocation row is reported', async () => {
      kit = await auditTestKit(dialect);
      const lockbox = await kit.open();
      const kept = await lockbox.tokens.create({ name: 'kept', permissions: ['secrets:read:*'] });
      const created = await lockbox.tokens.create({ name: 'ci', permissions: ['secrets:read:*'] });
      const before = await db(lockbox)
        .selectFrom('lockbox_tokens')
        .selectAll()
        .where('id', '=', created.id)
        .executeTakeFirstOrThrow();
      await lockbox.tokens.revoke(created.id);
      await expect(lockbox.tokens.verify(created.token)).rejects.toMatchObject({
        code: 'AUTH_INVALID',
      });
      expect((await lockbox.audit.checkRowStates()).rollbacks).toEqual([]);

      // The attack: the row as it was before the revocation, MAC and all.
      await db(lockbox)
        .updateTable('lockbox_tokens')
        .set({ revoked_at: before.revoked_at, mac: before.mac })
        .where('id', '=', created.id)
        .execute();
      // The MAC is genuine, so the row alone cannot tell: the audit log can.
      expect((await lockbox.tokens.verify(created.token)).id).toBe(created.id);
      const check = await lockbox.audit.checkRowStates();
      expect(check).toEqual({
        auditOk: true,
        rollbacks: [{ kind: 'token-unrevoked', row: created.id, recorded: 'revoked' }],
      });
      expect(JSON.stringify(check)).not.toContain(created.token);
      expect(JSON.stringify(check)).not.toContain(kept.id);
    });

    it('putting back a replaced recovery recipient, or deleting it, is reported', async () => {
      kit = await auditTestKit(dialect);
      const lockbox = await kit.open();
      await lockbox.secrets.set('prod', 'api-key', 'canary-rr-5e1d');
      const first = await generateAgeIdentity();
      const second = await generateAgeIdentity();
      await lockbox.recovery.add(first.recipient);
      const saved = await db(lockbox)
        .selectFrom('lockbox_meta')
        .selectAll()
        .where('key', 'in', ['recovery_recipient', 'recovery_recipient.mac'])
        .execute();
      expect(saved).toHaveLength(2);
      await lockbox.recovery.replace(second.recipient);
      expect((await lockbox.audit.checkRowStates()).rollbacks).toEqual([]);

      // The attack: the first recipient back, with the MAC it had.
      for (const row of saved) {
        await db(lockbox)
          .updateTable('lockbox_meta')
          .set({ value: row.value })
          .where('key', '=', row.key)
          .execute();
      }
      expect((await lockbox.audit.checkRowStates()).rollbacks).toEqual([
        { kind: 'recipient-rolled-back', row: first.recipient, recorded: second.recipient },
      ]);

      await db(lockbox)
        .deleteFrom('lockbox_meta')
        .where('key', 'in', ['recovery_recipient', 'recovery_recipient.mac'])
        .execute();
      expect((await lockbox.audit.checkRowStates()).rollbacks).toEqual([
        { kind: 'recipient-removed', row: null, recorded: second.recipient },
      ]);
    });

    it('vouches for nothing when the audit log does not verify', async () => {
      kit = await auditTestKit(dialect);
      const lockbox = await kit.open();
      const created = await lockbox.tokens.create({ name: 'ci', permissions: ['secrets:read:*'] });
      await lockbox.tokens.revoke(created.id);
      await db(lockbox).deleteFrom('lockbox_audit').where('action', '=', 'token.revoke').execute();
      expect(await lockbox.audit.checkRowStates()).toEqual({ auditOk: false, rollbacks: [] });
    });
  },
);
