/**
 * doctor's advice about legacy rows: in a field never adopted, adopt them; in a
 * field already adopted, they did not come from the application's past and may
 * have been planted, so doctor warns instead of suggesting `--plaintext`.
 */
import type { Census, FieldCensus, RotationStatus } from '@lockbox/core';
import { describe, expect, it } from 'vitest';
import { diagnose, diagnoseRowStates } from '../src/commands/doctor.js';

function field(overrides: Partial<FieldCensus>): FieldCensus {
  return {
    table: 'accounts',
    column: 'api_key',
    scope: 'fields',
    rows: 3,
    lockbox: 0,
    plaintext: 1,
    fernet: 0,
    v2: 0,
    otherLockboxFormat: 0,
    unreadable: 0,
    onRetiringKeys: 0,
    byMasterKey: {},
    primaryKey: ['id'],
    keyProblem: null,
    ...overrides,
  };
}

function census(fields: FieldCensus[]): Census {
  return {
    primary: 'aa',
    keyring: ['aa'],
    masterKeys: [],
    dataKeys: { active: 1, retiring: 0, destroyed: 0 },
    auditKeys: { active: 1, verifyOnly: 0 },
    secrets: {
      total: 0,
      byMasterKey: {},
      onRetiringKeys: 0,
      unreadable: 0,
      unreadableByReason: {},
      versionless: 0,
    },
    fields,
    droppable: [],
    missing: [],
    verified: false,
  };
}

const idle: RotationStatus = { lock: null, unfinished: null, recent: [] };

describe('doctor on legacy rows', () => {
  it('suggests adoption for a field never adopted, even with new rows written through Lockbox', () => {
    for (const f of [field({}), field({ lockbox: 2 })]) {
      const [finding] = diagnose(
        census([f]),
        idle,
        new Map(),
        undefined,
        new Set(['other.column']),
      );
      expect(finding?.message).toMatch(/still holds 1 plaintext/);
      expect(finding?.hint).toMatch(/--plaintext/);
    }
  });

  it('warns that rows may have been planted in a field with an audited adoption', () => {
    const [finding] = diagnose(
      census([field({ lockbox: 2 })]),
      idle,
      new Map(),
      undefined,
      new Set(['accounts.api_key']),
    );
    expect(finding?.severity).toBe('warning');
    expect(finding?.message).toMatch(/already adopted .* may have been planted/);
    expect(finding?.hint).toMatch(/find out where they came from/);
    expect(finding?.hint).not.toMatch(/\[--plaintext\]/);
  });
});

describe('doctor on authenticated rows put back whole', () => {
  it('reports an un-revoked token and a rolled-back recipient as errors, with what to do', () => {
    const findings = diagnoseRowStates({
      auditOk: true,
      rollbacks: [
        { kind: 'token-unrevoked', row: '0123456789ab', recorded: 'revoked' },
        { kind: 'recipient-rolled-back', row: 'age1old', recorded: 'age1new' },
      ],
    });
    expect(findings.map((f) => f.severity)).toEqual(['error', 'error']);
    expect(findings[0]?.message).toContain('token 0123456789ab');
    expect(findings[0]?.hint).toContain('lockbox token revoke 0123456789ab');
    expect(findings[1]?.message).toContain('age1old');
    expect(findings[1]?.hint).toContain('lockbox recovery replace');
    expect(diagnoseRowStates({ auditOk: true, rollbacks: [] })).toEqual([]);
  });
});
