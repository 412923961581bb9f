import { can, matchScopeGlob, parsePermission, parsePermissions } from '@lockbox/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const holder = (...permissions: string[]) => ({ permissions });

describe('scope globs', () => {
  it('matches * against any run of characters, and everything else literally', () => {
    expect(matchScopeGlob('user:*', 'user:42')).toBe(true);
    expect(matchScopeGlob('user:*', 'user:')).toBe(true);
    expect(matchScopeGlob('user:*', 'users:42')).toBe(false);
    expect(matchScopeGlob('user:*', 'admin:user:42')).toBe(false);
    expect(matchScopeGlob('*', 'anything:at:all')).toBe(true);
    expect(matchScopeGlob('*:prod', 'team-a:prod')).toBe(true);
    expect(matchScopeGlob('*:prod', 'team-a:prod:x')).toBe(false);
    expect(matchScopeGlob('a*b*c', 'a--b--b--c')).toBe(true);
    expect(matchScopeGlob('a*b*c', 'a--c--b')).toBe(false);
    expect(matchScopeGlob('prod', 'prod')).toBe(true);
    expect(matchScopeGlob('prod', 'production')).toBe(false);
    expect(matchScopeGlob('user.?', 'user.x')).toBe(false);
  });

  it('agrees with a reference matcher on random globs and scopes', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', ':', '*'), maxLength: 12 });
    fc.assert(
      fc.property(text, text, (glob, scope) => {
        const pattern = glob
          .split('*')
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*');
        expect(matchScopeGlob(glob, scope)).toBe(new RegExp(`^${pattern}$`, 's').test(scope));
      }),
    );
  });

  it('is fast on a hostile glob', () => {
    const started = performance.now();
    expect(matchScopeGlob(`${'*a'.repeat(100)}b`, 'a'.repeat(256))).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('permissions', () => {
  it('normalises and validates permission strings', () => {
    expect(
      parsePermissions(['secrets:read', 'secrets:write:user:*', 'admin', 'admin', 'audit:read']),
    ).toEqual(['secrets:read:*', 'secrets:write:user:*', 'admin', 'audit:read']);
    for (const bad of ['root', 'secrets:delete:*', 'secrets:read:', 'keys:rotate:now', 'ADMIN']) {
      expect(() => parsePermission(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    expect(() => parsePermission('secrets:read:a\nb')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => parsePermissions([])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('grants secret access only on scopes the glob matches', () => {
    const token = holder('secrets:read:user:*', 'secrets:write:user:42');
    expect(can(token, 'secrets:read', 'user:7')).toBe(true);
    expect(can(token, 'secrets:read', 'prod')).toBe(false);
    expect(can(token, 'secrets:write', 'user:42')).toBe(true);
    expect(can(token, 'secrets:write', 'user:7')).toBe(false);
    expect(can(holder('secrets:write:*'), 'secrets:read', 'x')).toBe(false);
    expect(can(token, 'secrets:read')).toBe(false);
  });

  it('never grants secret access to internal scopes', () => {
    expect(can(holder('secrets:read:*'), 'secrets:read', 'lockbox:audit')).toBe(false);
    expect(can(holder('admin'), 'secrets:read', 'lockbox:audit')).toBe(false);
  });

  it('lets admin do everything except rotate keys, which needs keys:rotate itself', () => {
    const admin = holder('admin');
    for (const p of ['backup:export', 'backup:import', 'audit:read', 'admin'] as const) {
      expect(can(admin, p)).toBe(true);
    }
    expect(can(admin, 'secrets:write', 'any')).toBe(true);
    expect(can(admin, 'keys:rotate')).toBe(false);
    expect(can(holder('keys:rotate'), 'keys:rotate')).toBe(true);
    expect(can(holder('keys:rotate'), 'admin')).toBe(false);
    expect(can(holder('audit:read'), 'backup:export')).toBe(false);
  });

  it('grants nothing for unknown permission strings held in the store', () => {
    expect(can(holder('superuser', 'secrets:read'), 'secrets:read', 'x')).toBe(false);
  });

  it('grants field permissions on table.column globs, separately from secrets', () => {
    expect(parsePermissions(['fields:decrypt', 'fields:encrypt:user_keys.*'])).toEqual([
      'fields:decrypt:*',
      'fields:encrypt:user_keys.*',
    ]);
    for (const bad of [
      'fields:decrypt:',
      'fields:decrypt:a b',
      'fields:encrypt:x;drop',
      'fields',
    ]) {
      expect(() => parsePermission(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    const decrypt = holder('fields:decrypt:user_keys.api_key');
    expect(can(decrypt, 'fields:decrypt', 'user_keys.api_key')).toBe(true);
    expect(can(decrypt, 'fields:decrypt', 'user_keys.other')).toBe(false);
    expect(can(decrypt, 'fields:encrypt', 'user_keys.api_key')).toBe(false);
    expect(can(decrypt, 'secrets:read', 'user_keys.api_key')).toBe(false);
    expect(can(decrypt, 'fields:decrypt')).toBe(false);
    expect(can(holder('secrets:read:*'), 'fields:decrypt', 'user_keys.api_key')).toBe(false);
    expect(can(holder('admin'), 'fields:encrypt', 'user_keys.api_key')).toBe(true);
    expect(can(holder('fields:decrypt:*'), 'fields:decrypt', 'lockbox_secrets.value')).toBe(false);
  });
});
