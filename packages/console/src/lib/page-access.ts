/**
 * Which console pages a token can use, from its permissions (as GET /v1/whoami
 * returns them). The navigation shows only these, so an operator is not led to
 * pages that would answer PERMISSION_DENIED.
 *
 * This mirrors the server's rule (core's `can`: `admin` grants everything but
 * `keys:rotate`) for the routes each page calls — see docs/console.md. It only
 * decides what to show: the server still checks every request, and a secret
 * permission's scope glob is left to the server (the Secrets page lists exactly
 * the scopes the token may read).
 */
import { PAGES, type PageId } from './page-route.js';

/** Any one of these lets a token use the page (a `secrets:` entry also matches its globbed forms). */
const NEEDS: Record<PageId, readonly string[]> = {
  overview: ['admin', 'keys:rotate'],
  secrets: ['admin', 'secrets:read', 'secrets:write'],
  keys: ['keys:rotate'],
  backup: ['admin', 'backup:export', 'backup:import'],
  audit: ['admin', 'audit:read'],
  tokens: ['admin'],
};

function holds(permissions: readonly string[], needed: string): boolean {
  return permissions.some(
    (held) => held === needed || (needed.startsWith('secrets:') && held.startsWith(`${needed}:`)),
  );
}

/** The pages, in navigation order, that `permissions` let a token use. */
export function pagesFor(permissions: readonly string[]): PageId[] {
  return PAGES.filter((page) => NEEDS[page].some((needed) => holds(permissions, needed)));
}
