/**
 * Writing variables in the formats `lockbox env` offers. Each must carry any
 * value exactly (quotes, newlines, `$`, backslashes, non-ASCII); values never
 * contain NUL (secretsToEnv refuses those).
 *
 *   shell   `export NAME='…'`: POSIX single quotes, where nothing is special; a
 *           quote is written as '\'' (close, escaped quote, reopen). `eval` or
 *           `source` in sh, bash, zsh and dash gives back the exact value.
 *   dotenv  `NAME='…'`: single quotes, in which `\\` is a backslash and `\'` a
 *           quote; everything else (newlines, `$`, `"`) is literal and nothing
 *           is interpolated. This is python-dotenv's grammar; a value with no
 *           backslash and no quote reads the same in every common dotenv dialect.
 *   json    one JSON object, name → value.
 */
import { LockboxError } from '@lockbox/core';

export const ENV_FORMATS = ['dotenv', 'json', 'shell'] as const;
export type EnvFormat = (typeof ENV_FORMATS)[number];

export function parseEnvFormat(text: string): EnvFormat {
  if (!(ENV_FORMATS as readonly string[]).includes(text)) {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      `unknown format "${text}"; use one of ${ENV_FORMATS.join(', ')}`,
    );
  }
  return text as EnvFormat;
}

export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export function dotenvQuote(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** The variables in `format`, one per line (json: one pretty-printed object), ending in a newline. */
export function formatEnv(variables: Readonly<Record<string, string>>, format: EnvFormat): string {
  const entries = Object.entries(variables);
  switch (format) {
    case 'json':
      return `${JSON.stringify(variables, null, 2)}\n`;
    case 'shell':
      return entries.map(([name, value]) => `export ${name}=${shellQuote(value)}\n`).join('');
    case 'dotenv':
      return entries.map(([name, value]) => `${name}=${dotenvQuote(value)}\n`).join('');
  }
}
