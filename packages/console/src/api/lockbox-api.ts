/**
 * The /v1 routes the console calls, one typed method each, over ApiClient.
 * Route shapes follow packages/server/src/routes/*.ts; docs/api.md is the reference.
 */
import { type ApiClient, type Download, path, query } from './api-client.js';
import type {
  AuditPage,
  AuditVerifyResult,
  ConflictPolicy,
  CreatedToken,
  ImportReport,
  KeyStatus,
  ListedSecret,
  Metadata,
  RotationJob,
  ScopeCount,
  SecretValue,
  TokenInfo,
} from './api-types.js';

export interface AuditQuery {
  limit?: number;
  order?: 'asc' | 'desc';
  before?: number;
  after?: number;
  action?: string;
  scope?: string;
}

export class LockboxApi {
  readonly #client: ApiClient;

  constructor(client: ApiClient) {
    this.#client = client;
  }

  keys(): Promise<KeyStatus> {
    return this.#client.json('GET', '/keys');
  }

  /** Scopes the token can read, with their secret counts. */
  async scopes(): Promise<ScopeCount[]> {
    return (await this.#client.json<{ scopes: ScopeCount[] }>('GET', '/scopes')).scopes;
  }

  async listSecrets(scope: string): Promise<ListedSecret[]> {
    const answer = await this.#client.json<{ secrets: ListedSecret[] }>(
      'GET',
      path`/secrets/${scope}`,
    );
    return answer.secrets;
  }

  /** Reads one value; the server audits it as secret.read. */
  readSecret(scope: string, name: string): Promise<SecretValue> {
    return this.#client.json('GET', path`/secrets/${scope}/${name}`);
  }

  async setSecret(
    scope: string,
    name: string,
    value: string,
    metadata?: Metadata,
  ): Promise<{ version: number }> {
    return this.#client.json('PUT', path`/secrets/${scope}/${name}`, {
      value,
      ...(metadata === undefined ? {} : { metadata }),
    });
  }

  deleteSecret(scope: string, name: string): Promise<void> {
    return this.#client.json('DELETE', path`/secrets/${scope}/${name}`);
  }

  /** Rotation jobs, newest first. */
  async rotations(): Promise<RotationJob[]> {
    return (await this.#client.json<{ jobs: RotationJob[] }>('GET', '/rotation')).jobs;
  }

  /** Rewraps every data key from the old master key to the new one; resolves with the finished job. */
  async rotateMaster(oldKey: string, newKey: string): Promise<RotationJob> {
    return (
      await this.#client.json<{ job: RotationJob }>('POST', '/rotation/master', { oldKey, newKey })
    ).job;
  }

  /** An age-encrypted bundle of every user scope, encrypted to `recipient`. */
  exportBundle(recipient: string): Promise<Download> {
    return this.#client.download('/backup/export', { recipients: [recipient] });
  }

  previewImport(bundle: Blob, identity: string, policy: ConflictPolicy): Promise<ImportReport> {
    return this.#client.upload(`/backup/import/preview${query({ policy })}`, bundle, identity);
  }

  applyImport(bundle: Blob, identity: string, policy: ConflictPolicy): Promise<ImportReport> {
    return this.#client.upload(`/backup/import/apply${query({ policy })}`, bundle, identity);
  }

  audit(options: AuditQuery = {}): Promise<AuditPage> {
    return this.#client.json('GET', `/audit${query({ ...options })}`);
  }

  verifyAudit(): Promise<AuditVerifyResult> {
    return this.#client.json('GET', '/audit/verify');
  }

  async tokens(): Promise<TokenInfo[]> {
    return (await this.#client.json<{ tokens: TokenInfo[] }>('GET', '/tokens')).tokens;
  }

  createToken(name: string, permissions: string[]): Promise<CreatedToken> {
    return this.#client.json('POST', '/tokens', { name, permissions });
  }

  async revokeToken(id: string): Promise<TokenInfo> {
    return (await this.#client.json<{ token: TokenInfo }>('DELETE', path`/tokens/${id}`)).token;
  }
}
