/**
 * doctor's rollback findings, from a version check as core reports it: errors
 * for rollbacks, resurrections and vanished rows, a warning for a version ahead
 * of the log, one error when the log itself does not verify; each names
 * scope/name and versions only.
 */
import type { SecretVersionCheck } from '@lockbox/core';
import { describe, expect, it } from 'vitest';
import { diagnoseVersions } from '../src/commands/doctor.js';

const check = (mismatches: SecretVersionCheck['mismatches']): SecretVersionCheck => ({
  auditOk: true,
  compared: 4,
  unrecorded: 0,
  counts: { 'rolled-back': 1, resurrected: 1, vanished: 1, ahead: 1 },
  mismatches,
});

describe('doctor on secret versions', () => {
  it('reports each mismatch by scope/name and version, rollbacks as errors', () => {
    const findings = diagnoseVersions(
      check([
        { kind: 'rolled-back', scope: 'prod', name: 'a', stored: 1, audited: 3 },
        { kind: 'resurrected', scope: 'prod', name: 'b', stored: 2, audited: null },
        { kind: 'vanished', scope: 'prod', name: 'c', stored: null, audited: 4 },
        { kind: 'ahead', scope: 'prod', name: 'd', stored: 5, audited: 4 },
      ]),
    );
    expect(findings.map((f) => [f.severity, f.message])).toEqual([
      [
        'error',
        'secret "prod/a" is at version 1, but the audit log recorded version 3 written: it was rolled back',
      ],
      [
        'error',
        `secret "prod/b" exists (version 2), but the audit log's last record of it is a delete`,
      ],
      [
        'error',
        'secret "prod/c" is missing, but the audit log recorded version 4 written and no delete',
      ],
      [
        'warning',
        'secret "prod/d" is at version 5, above the last version the audit log recorded (4)',
      ],
    ]);
  });

  it('reports a log that does not verify instead of comparing', () => {
    const findings = diagnoseVersions({ ...check([]), auditOk: false });
    expect(findings).toMatchObject([{ severity: 'error' }]);
    expect(findings[0]?.message).toContain('does not verify');
  });
});
