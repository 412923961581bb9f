/**
 * Which page is showing, kept in the URL fragment (#/secrets) so the back button
 * and reloads work. Only the page name goes there — never the token or any value.
 */
import { useEffect, useState } from 'preact/hooks';

export const PAGES = ['overview', 'secrets', 'keys', 'backup', 'audit', 'tokens'] as const;
export type PageId = (typeof PAGES)[number];

/** The page a fragment names; unknown or empty fragments show the overview. */
export function pageFromHash(hash: string): PageId {
  const name = hash.replace(/^#\/?/, '');
  return (PAGES as readonly string[]).includes(name) ? (name as PageId) : 'overview';
}

export function hashFor(page: PageId): string {
  return `#/${page}`;
}

/** The current page, following hash changes (links, back and forward). */
export function usePage(): PageId {
  const [page, setPage] = useState(() => pageFromHash(location.hash));
  useEffect(() => {
    const onChange = () => setPage(pageFromHash(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return page;
}
