/** The small pure helpers behind the forms: metadata, token permissions, file names, routes, progress. */
import { describe, expect, it } from 'vitest';
import type { RotationJob } from '../src/api/api-types.js';
import { bundleFileName } from '../src/lib/bundle-file-name.js';
import { jobProgress } from '../src/lib/job-progress.js';
import { hashFor, pageFromHash } from '../src/lib/page-route.js';
import { parseMetadata } from '../src/lib/parse-metadata.js';
import { permissionStrings } from '../src/lib/permission-choice.js';

describe('parseMetadata', () => {
  it('reads an empty field as no metadata and an object as metadata', () => {
    expect(parseMetadata('  ')).toEqual({ ok: true, metadata: undefined });
    expect(parseMetadata('{"owner":"payments"}')).toEqual({
      ok: true,
      metadata: { owner: 'payments' },
    });
  });

  it('refuses JSON that is not an object, and text that is not JSON', () => {
    for (const text of ['[1]', 'null', '"x"', '42', '{owner: 1}']) {
      expect(parseMetadata(text)).toEqual({ ok: false });
    }
  });
});

describe('permissionStrings', () => {
  it('gives secret permissions a scope glob, "*" when left blank', () => {
    expect(
      permissionStrings({ read: 'user:*', write: ' ', plain: new Set(['audit:read', 'admin']) }),
    ).toEqual(['secrets:read:user:*', 'secrets:write:*', 'audit:read', 'admin']);
  });

  it('gives nothing when nothing is chosen', () => {
    expect(permissionStrings({ read: null, write: null, plain: new Set() })).toEqual([]);
  });
});

describe('bundleFileName', () => {
  it('is sortable and has no colons', () => {
    expect(bundleFileName(new Date('2025-01-31T12:34:56.789Z'))).toBe(
      'lockbox-2025-01-31T12-34-56Z.age',
    );
  });
});

describe('pageFromHash', () => {
  it('reads the page from the fragment and falls back to the overview', () => {
    expect(pageFromHash('#/secrets')).toBe('secrets');
    expect(pageFromHash(hashFor('tokens'))).toBe('tokens');
    expect(pageFromHash('')).toBe('overview');
    expect(pageFromHash('#/lbx_token')).toBe('overview');
  });
});

describe('jobProgress', () => {
  const job = (
    kind: RotationJob['kind'],
    state: RotationJob['state'],
    totals: Record<string, unknown>,
  ): RotationJob => ({
    id: 'j',
    kind,
    mode: 'online',
    state,
    from: 'a',
    to: 'b',
    totals,
    startedBy: null,
    startedAt: '2025-01-01T00:00:00Z',
    updatedAt: '2025-01-01T00:00:00Z',
    finishedAt: null,
    error: null,
    errorCode: null,
  });

  it('counts rewrapped of planned data keys for a running master rotation', () => {
    expect(jobProgress(job('master', 'running', { planned: 10, rewrapped: 4 }))).toEqual({
      done: 4,
      total: 10,
      unit: 'dataKeys',
    });
  });

  it('counts secrets and field rows of planned rows for a data re-key', () => {
    const totals = { plannedRows: 100, secrets: 30, fields: { 'users.token': 20, 'x.y': 5 } };
    expect(jobProgress(job('data', 'running', totals))).toEqual({
      done: 55,
      total: 100,
      unit: 'rows',
    });
  });

  it('shows a finished job complete and tolerates missing or malformed totals', () => {
    expect(jobProgress(job('master', 'done', { planned: 3, rewrapped: 5 }))).toMatchObject({
      done: 3,
      total: 3,
    });
    expect(jobProgress(job('master', 'running', {}))).toMatchObject({ done: 0, total: 0 });
    expect(jobProgress(job('data', 'running', { plannedRows: 'x', fields: null }))).toMatchObject({
      done: 0,
      total: 0,
    });
  });
});
