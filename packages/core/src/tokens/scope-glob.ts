/**
 * Scope globs for token permissions: `*` matches any run of characters (including
 * none, including `:`); every other character matches itself. So `user:*`
 * matches `user:42` and `user:`, `*` matches every scope, `prod` only `prod`.
 *
 * Matching backtracks only to the last star, so it costs at most
 * O(glob length × scope length) — no regular expressions, so a hostile glob cannot
 * cause catastrophic backtracking.
 */
export function matchScopeGlob(glob: string, scope: string): boolean {
  let g = 0;
  let s = 0;
  let star = -1;
  let resume = 0;
  while (s < scope.length) {
    if (g < glob.length && glob[g] === '*') {
      star = g++;
      resume = s;
    } else if (g < glob.length && glob[g] === scope[s]) {
      g++;
      s++;
    } else if (star !== -1) {
      g = star + 1;
      s = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}
