/** pagesFor: the navigation follows the token's permissions, as the server's rule grants them. */
import { describe, expect, it } from 'vitest';
import { pagesFor } from '../src/lib/page-access.js';
import { PAGES } from '../src/lib/page-route.js';

describe('pagesFor', () => {
  it('gives admin every page but Keys (admin cannot rotate), and admin + keys:rotate all', () => {
    expect(pagesFor(['admin'])).toEqual(['overview', 'secrets', 'backup', 'audit', 'tokens']);
    expect(pagesFor(['admin', 'keys:rotate'])).toEqual([...PAGES]);
  });

  it('gives keys:rotate the Overview and Keys pages', () => {
    expect(pagesFor(['keys:rotate'])).toEqual(['overview', 'keys']);
  });

  it('gives any secret permission, with any glob, the Secrets page', () => {
    expect(pagesFor(['secrets:read:user:*'])).toEqual(['secrets']);
    expect(pagesFor(['secrets:write:prod'])).toEqual(['secrets']);
    expect(pagesFor(['secrets:read:*', 'audit:read'])).toEqual(['secrets', 'audit']);
  });

  it('gives either backup permission the Backup page', () => {
    expect(pagesFor(['backup:export'])).toEqual(['backup']);
    expect(pagesFor(['backup:import'])).toEqual(['backup']);
  });

  it('gives nothing for no permission or ones it does not know', () => {
    expect(pagesFor([])).toEqual([]);
    expect(pagesFor(['secrets:readall', 'keys:rotate:now', 'superuser'])).toEqual([]);
  });
});
