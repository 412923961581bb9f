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
  DataRekeyResult,
  ImportReport,
  KeyStatus,
  ListedSecret,
  MasterRotationResult,
  Metadata,
  RecoveryChange,
  RecoveryState,
  RotationJob,
  RotationStatus,
  ScopePage,
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

  /** The caller's own token record (any valid token may ask; a bad one is a 401). */
  async whoami(): Promise<TokenInfo> {
    return (await this.#client.json<{ token: TokenInfo }>('GET', '/whoami')).token;
  }

  /**
   * One page of the scopes this token may read that hold secrets, sorted by
   * name: those beginning with `prefix`, after the cursor `after` (the previous
   * page's `next`).
   */
  scopes(options: { prefix?: string; after?: string; limit?: number } = {}): Promise<ScopePage> {
    const prefix = options.prefix === '' ? undefined : options.prefix;
    return this.#client.json(
      'GET',
      `/scopes${query({ prefix, after: options.after, limit: options.limit })}`,
    );
  }

  keys(): Promise<KeyStatus> {
    return this.#client.json('GET', '/keys');
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

  /** The rotation lock, the unfinished job (if any) and recent jobs, newest first. */
  rotation(): Promise<RotationStatus> {
    return this.#client.json('GET', '/rotation');
  }

  /**
   * Rewraps every data key from the old master key to the new one, within the
   * request. The server proves the old key first: a wrong one is refused
   * (ROTATION_OLD_KEY_MISMATCH) before anything is written.
   */
  rotateMaster(oldKey: string, newKey: string): Promise<MasterRotationResult> {
    return this.#client.json('POST', '/rotation/master', { oldKey, newKey });
  }

  /**
   * Re-keys data: new data keys for every scope, every secret and registered
   * field re-encrypted, the old data keys destroyed — within the request.
   */
  rekeyData(): Promise<DataRekeyResult> {
    return this.#client.json('POST', '/rotation/data', {});
  }

  /** Finishes the interrupted job (a master job with the keys of the server's keyring). */
  resumeRotation(): Promise<MasterRotationResult | DataRekeyResult> {
    return this.#client.json('POST', '/rotation/resume', {});
  }

  /** Gives up the interrupted job (always safe; it will not be resumed). */
  async abandonRotation(): Promise<RotationJob> {
    return (await this.#client.json<{ job: RotationJob }>('POST', '/rotation/abandon', {})).job;
  }

  recovery(): Promise<RecoveryState> {
    return this.#client.json('GET', '/recovery');
  }

  /** Sets the recovery recipient (`replace`: the one already set) and wraps every data key to it. */
  setRecovery(recipient: string, replace: boolean): Promise<RecoveryChange> {
    return this.#client.json('PUT', '/recovery', { recipient, ...(replace ? { replace } : {}) });
  }

  /** An age-encrypted bundle of every user scope, encrypted to `recipient`. */
  exportBundle(recipient: string): Promise<Download> {
    return this.#client.download('/backup/export', { recipients: [recipient] });
  }

  /** What applying `bundle` under `policy` would do; writes nothing. */
  previewImport(bundle: Blob, identity: string, policy: ConflictPolicy): Promise<ImportReport> {
    return this.#import('preview', bundle, identity, policy);
  }

  /** Imports `bundle` in one transaction (all or nothing). */
  applyImport(bundle: Blob, identity: string, policy: ConflictPolicy): Promise<ImportReport> {
    return this.#import('apply', bundle, identity, policy);
  }

  /** The bundle is the raw body; the age identity that opens it travels in a header. */
  #import(
    step: 'preview' | 'apply',
    bundle: Blob,
    identity: string,
    policy: ConflictPolicy,
  ): Promise<ImportReport> {
    return this.#client.upload(`/backup/import/${step}${query({ policy })}`, bundle, {
      'x-lockbox-identity': identity,
    });
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
