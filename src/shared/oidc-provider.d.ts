// oidc-provider ships no types (and @types/oidc-provider lags its major versions): what the Myna
// Portal's authorization server uses of it (src/nodes/portal/api/), https://github.com/panva/node-oidc-provider.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type AdapterPayload = Record<string, unknown> & {
    grantId?: string;
    uid?: string;
    consumed?: number;
  };

  export interface OidcAdapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    client_name?: string;
    redirect_uris?: string[];
    grant_types?: string[];
    response_types?: string[];
    token_endpoint_auth_method?: string;
    scope?: string;
    subject_type?: 'public' | 'pairwise';
    [key: string]: unknown;
  }

  /** The koa context oidc-provider passes to its helpers (only what we read). */
  export interface KoaContextWithOIDC {
    req: IncomingMessage;
    res: ServerResponse;
    ip: string;
    type: string;
    body: unknown;
    status: number;
    oidc?:
      | {
          client?: Client | undefined;
          params?: Record<string, unknown> | undefined;
          /** The models the request loaded (the grant of a code or refresh token exchange). */
          entities: { Grant?: { exp?: number; accountId?: string } | undefined };
        }
      | undefined;
  }

  export interface Client {
    clientId: string;
    clientName?: string | undefined;
    scope?: string | undefined;
    redirectUris?: string[] | undefined;
    grantTypeAllowed(type: string): boolean;
    [key: string]: unknown;
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string): Promise<Record<string, unknown>> | Record<string, unknown>;
  }

  export interface Configuration {
    adapter?: (name: string) => OidcAdapter;
    clients?: ClientMetadata[];
    clientDefaults?: Partial<ClientMetadata>;
    scopes?: string[];
    claims?: Record<string, string[] | null>;
    cookies?: {
      keys?: string[];
      names?: Record<string, string>;
      long?: Record<string, unknown>;
      short?: Record<string, unknown>;
    };
    jwks?: { keys: Record<string, unknown>[] };
    features?: Record<string, { enabled: boolean; [key: string]: unknown }>;
    pkce?: { required?: (ctx: KoaContextWithOIDC, client: Client) => boolean };
    subjectTypes?: string[];
    pairwiseIdentifier?: (
      ctx: KoaContextWithOIDC,
      accountId: string,
      client: Client,
    ) => Promise<string> | string;
    findAccount?: (ctx: KoaContextWithOIDC, sub: string, token?: unknown) => Promise<Account | undefined>;
    interactions?: { url?: (ctx: KoaContextWithOIDC, interaction: Interaction) => string | Promise<string> };
    loadExistingGrant?: (ctx: KoaContextWithOIDC) => Promise<Grant | undefined>;
    renderError?: (
      ctx: KoaContextWithOIDC,
      out: Record<string, string>,
      error: Error,
    ) => Promise<void> | void;
    ttl?: Record<
      string,
      number | ((ctx: KoaContextWithOIDC | undefined, token: unknown, client: Client) => number)
    >;
    issueRefreshToken?: (
      ctx: KoaContextWithOIDC,
      client: Client,
      code: { scopes: Set<string> },
    ) => boolean | Promise<boolean>;
    responseTypes?: string[];
    enabledJWA?: Record<string, string[]>;
    clientAuthMethods?: string[];
    rotateRefreshToken?: boolean;
    allowOmittingSingleRegisteredRedirectUri?: boolean;
    [key: string]: unknown;
  }

  export interface Interaction {
    uid: string;
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    params: Record<string, unknown> & { client_id?: string; scope?: string; redirect_uri?: string };
    session?: { accountId?: string; uid?: string } | undefined;
    grantId?: string | undefined;
    lastSubmission?: Record<string, unknown> | undefined;
    exp: number;
  }

  export class Grant {
    constructor(properties: { accountId: string; clientId: string });
    jti: string;
    accountId: string;
    clientId: string;
    addOIDCScope(scope: string): void;
    getOIDCScope(): string;
    addResourceScope(resource: string, scope: string): void;
    save(ttl?: number): Promise<string>;
    destroy(): Promise<void>;
    static find(id: string): Promise<Grant | undefined>;
  }

  export interface AccessToken {
    jti: string;
    accountId: string;
    clientId: string;
    grantId: string;
    scope?: string | undefined;
    aud?: string | string[] | undefined;
    exp: number;
    isValid?: boolean;
    isExpired?: boolean;
  }

  export interface ClientCredentials {
    jti: string;
    clientId: string;
    scope?: string | undefined;
    aud?: string | string[] | undefined;
    exp: number;
  }

  export class errors {
    static OIDCProviderError: new (...args: unknown[]) => Error & {
      error: string;
      error_description?: string;
      status: number;
    };
  }

  class Provider {
    constructor(issuer: string, configuration: Configuration);
    issuer: string;
    proxy: boolean;
    Grant: typeof Grant;
    AccessToken: { find(value: string): Promise<AccessToken | undefined> };
    ClientCredentials: { find(value: string): Promise<ClientCredentials | undefined> };
    Client: { find(id: string): Promise<Client | undefined> };
    /** The browser's session at the authorization server, from its (signed) session cookie. */
    Session: {
      get(ctx: { req: IncomingMessage; res: ServerResponse }): Promise<{
        accountId?: string | undefined;
        destroy(): Promise<void>;
      }>;
    };
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
    on(event: string, listener: (...args: never[]) => void): this;
  }
  export default Provider;
}
