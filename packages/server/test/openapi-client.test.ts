/**
 * A client generated from the OpenAPI document, unedited: openapi-typescript turns
 * /v1/openapi.json into types, a small program written against them with
 * openapi-fetch type-checks under strict TypeScript (so the operations, bodies and
 * per-route error-code enums are what a client author sees), and then runs against
 * the listening server: it encrypts and decrypts a field, and reads the typed
 * error code of a refusal.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server.js';

// Inside the repository's node_modules, so that `openapi-fetch` resolves from it.
const NODE_MODULES = fileURLToPath(new URL('../../../node_modules/', import.meta.url));

const PROGRAM = `
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

export async function roundTrip(baseUrl: string, token: string): Promise<{ plaintext: string; refused: string }> {
  const client = createClient<paths>({ baseUrl, headers: { authorization: 'Bearer ' + token } });
  const path = { table: 'user_keys', column: 'api_key' };
  const encrypted = await client.POST('/v1/fields/{table}/{column}/encrypt', {
    params: { path },
    body: { items: [{ key: { id: 7 }, plaintext: 'sk-generated' }] },
  });
  const first = encrypted.data?.results[0];
  if (first === undefined || !('ciphertext' in first)) throw new Error('no ciphertext');
  const decrypted = await client.POST('/v1/fields/{table}/{column}/decrypt', {
    params: { path },
    body: { items: [{ key: { id: 7 }, ciphertext: first.ciphertext }] },
  });
  const result = decrypted.data?.results[0];
  if (result === undefined || !('plaintext' in result)) throw new Error('no plaintext');
  const refused = await client.GET('/v1/secrets/{scope}/{name}', {
    params: { path: { scope: 'prod', name: 'db' } },
  });
  // Error codes are enums in the document: this type-checks only if code is not a plain string.
  type Code = NonNullable<typeof refused.error>['error']['code'];
  const narrowed: string extends Code ? never : true = true;
  const code: Code | undefined = refused.error?.error.code;
  return { plaintext: result.plaintext, refused: narrowed ? (code ?? 'none') : 'none' };
}
`;

describe('a client generated from the OpenAPI document', () => {
  let server: TestServer;
  let dir: string;
  let url: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    // A field needs its table (its row key is checked at registration).
    await sql`create table user_keys (id text not null primary key, api_key text)`.execute(
      server.lockbox.vault.store.db,
    );
    await server.lockbox.fields.register({
      table: 'user_keys',
      column: 'api_key',
      primaryKey: 'id',
    });
    url = await server.app.listen({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(join(NODE_MODULES, '.lockbox-openapi-client-'));
  });

  afterAll(async () => {
    await server?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('type-checks unedited under strict TypeScript and runs against the server', async () => {
    const document = (await server.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    writeFileSync(join(dir, 'schema.ts'), astToString(await openapiTS(document)));
    writeFileSync(join(dir, 'client.ts'), PROGRAM);

    const program = ts.createProgram([join(dir, 'client.ts')], {
      strict: true,
      noUncheckedIndexedAccess: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      noEmit: true,
      skipLibCheck: true,
      // No DOM or @types libraries: the check is about the generated types, and stays fast.
      lib: ['lib.es2022.d.ts'],
      types: [],
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);

    const compiled = ts.transpileModule(PROGRAM.replace('./schema.js', './schema.mjs'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(dir, 'schema.mjs'), 'export {};\n');
    writeFileSync(join(dir, 'client.mjs'), compiled.outputText);
    const { roundTrip } = (await import(pathToFileURL(join(dir, 'client.mjs')).href)) as {
      roundTrip: (
        baseUrl: string,
        token: string,
      ) => Promise<{ plaintext: string; refused: string }>;
    };
    const token = await server.token([
      'fields:encrypt:user_keys.api_key',
      'fields:decrypt:user_keys.api_key',
    ]);
    expect(await roundTrip(url, token)).toEqual({
      plaintext: 'sk-generated',
      refused: 'PERMISSION_DENIED',
    });
  });
});
