/**
 * Named prepared statements on PostgreSQL for the few hot statements Lockbox
 * marks, so the server parses and plans each once per connection instead of on
 * every execution.
 *
 * Why: Kysely sends every query unnamed, so PostgreSQL parses and plans it each
 * time; for the audited read's select and the audit append that was about as
 * much as running them (a row select by primary key: about 175–270 µs unnamed,
 * 105–120 µs named, measured with pg on the development machine).
 *
 * Contract: SQL text that begins with `PREPARED` (a comment, so it means the same
 * to any database) is sent as a named statement, its name derived from the text
 * (`lockbox_` + 16 hex of its SHA-256), so the same text reuses the statement on
 * each connection and different texts never share a name. Every other query goes
 * through unchanged. Only statements with explicit column lists are
 * marked, so a migration elsewhere cannot change a prepared statement's result
 * type under it. `markPrepared` adds the marker; SQLite ignores it (a comment),
 * and its own statement cache applies to all statements (statement-cache.ts).
 */
import { createHash } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';

export const PREPARED = '/* lockbox:prepared */ ';

/** The SQL text, marked to be prepared on PostgreSQL. */
export function markPrepared(sql: string): string {
  return `${PREPARED}${sql}`;
}

type NamedQuery = (config: { name: string; text: string; values: unknown[] }) => Promise<unknown>;

export function preparingPool(pool: PostgresPool): PostgresPool {
  const names = new Map<string, string>();
  const nameOf = (text: string): string => {
    let name = names.get(text);
    if (name === undefined) {
      name = `lockbox_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
      names.set(text, name);
    }
    return name;
  };
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      return new Proxy(client, {
        get(target, property) {
          if (property === 'query') {
            return (first: unknown, parameters?: readonly unknown[]) => {
              if (typeof first === 'string' && first.startsWith(PREPARED)) {
                return (target.query as unknown as NamedQuery).call(target, {
                  name: nameOf(first),
                  text: first,
                  values: [...(parameters ?? [])],
                });
              }
              return (target.query as (...args: unknown[]) => unknown).call(
                target,
                first,
                parameters,
              );
            };
          }
          const value: unknown = Reflect.get(target, property);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },
    end: () => pool.end(),
  };
}
