import { describe, expect, it } from 'vitest';
import { childEnvironment } from '../src/child-env.js';
import { ENV } from '../src/config.js';

describe('childEnvironment', () => {
  it('drops every variable the configuration reads, and anything else LOCKBOX_, in any case', () => {
    const parent: Record<string, string> = { PATH: '/bin', HOME: '/home/x', REGION: 'eu' };
    for (const name of Object.values(ENV)) parent[name] = 'set';
    parent.LOCKBOX_DEBUG = '1';
    parent.LOCKBOX_TOKEN = 'lbt_x';
    parent.lockbox_master_key = 'lower';
    expect(childEnvironment(parent)).toEqual({ PATH: '/bin', HOME: '/home/x', REGION: 'eu' });
  });
});
