import { ENV_NAME_PATTERN, isLockboxError, toEnvName } from '@lockbox/core';
import { expectError } from '@lockbox/test-helpers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('toEnvName', () => {
  it.each([
    ['openai-api-key', 'OPENAI_API_KEY'],
    ['db.password', 'DB_PASSWORD'],
    ['camelCase', 'CAMEL_CASE'],
    ['openAIKey', 'OPEN_AI_KEY'],
    ['HTTPServer', 'HTTP_SERVER'],
    ['oauth2Token', 'OAUTH2_TOKEN'],
    ['DB_PASSWORD', 'DB_PASSWORD'],
    ['github/token', 'GITHUB_TOKEN'],
    ['stripe:live key', 'STRIPE_LIVE_KEY'],
    ['a--b', 'A__B'],
    ['_private', '_PRIVATE'],
    ['x', 'X'],
  ])('maps %j to %s', (name, variable) => {
    expect(toEnvName(name)).toBe(variable);
  });

  it.each([
    ['1password', 'start with a digit'],
    ['café', 'contains "é"'],
    ['a$b', 'contains "$"'],
    ['a=b', 'contains "="'],
    ['', 'empty'],
    ['lockbox-master-key-file', 'configure Lockbox itself'],
    ['lockbox.database', 'configure Lockbox itself'],
    ['LockboxConfig', 'configure Lockbox itself'],
  ])('refuses %j with ENV_NAME_INVALID', (name, why) => {
    expect(expectError(() => toEnvName(name), 'ENV_NAME_INVALID').message).toContain(why);
  });

  it('returns only portable variable names, or refuses (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (name) => {
        let variable: string;
        try {
          variable = toEnvName(name);
        } catch (err) {
          expect(isLockboxError(err, 'ENV_NAME_INVALID')).toBe(true);
          return;
        }
        expect(variable).toMatch(ENV_NAME_PATTERN);
      }),
    );
  });
});
