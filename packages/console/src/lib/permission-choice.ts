/**
 * The token form's permission choices and the permission strings they make.
 * Secret permissions carry a scope glob ("*" for every scope); the others are
 * plain names. The server validates the result; this only assembles it.
 */
export const PLAIN_PERMISSIONS = [
  'keys:rotate',
  'backup:export',
  'backup:import',
  'audit:read',
  'admin',
] as const;

export type PlainPermission = (typeof PLAIN_PERMISSIONS)[number];

export interface PermissionChoice {
  /** Scope glob for secrets:read, or null for none. */
  read: string | null;
  /** Scope glob for secrets:write, or null for none. */
  write: string | null;
  plain: ReadonlySet<PlainPermission>;
}

export function permissionStrings(choice: PermissionChoice): string[] {
  const out: string[] = [];
  if (choice.read !== null) out.push(`secrets:read:${choice.read.trim() || '*'}`);
  if (choice.write !== null) out.push(`secrets:write:${choice.write.trim() || '*'}`);
  for (const name of PLAIN_PERMISSIONS) if (choice.plain.has(name)) out.push(name);
  return out;
}
