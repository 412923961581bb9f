/**
 * Looking up a message and filling its placeholders. Messages write placeholders
 * as {name}; a placeholder without a value is left as written, so a missing
 * parameter shows up on screen instead of vanishing.
 */
export type Params = Record<string, string | number>;

const PLACEHOLDER = /\{(\w+)\}/g;

export function format(message: string, params: Params = {}): string {
  return message.replace(PLACEHOLDER, (whole, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

/** The placeholder names a message uses, sorted (the i18n test compares them across languages). */
export function placeholders(message: string): string[] {
  return [...message.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '').sort();
}
