/**
 * `renkei openapi` as an integrator runs it: a real child process through bin/renkei.js.
 */
import { describe, expect, it } from 'vitest';
import { nodeOpenApiDocument } from '../protocol/openapi.ts';
import { portalApi, portalNetworkApi, type OpenApiDocument } from '../protocol/routes.ts';
import { renkei } from './test-support.ts';

describe('renkei openapi', () => {
  it('prints the document the institution node serves, without a node running', async () => {
    const run = await renkei('openapi', 'institution');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(nodeOpenApiDocument('institution'));
  });

  it('prints the document of the portal’s network listener: its part of networkApi and portalApi', async () => {
    const run = await renkei('openapi', 'portal');
    expect(run.status).toBe(0);
    const document = JSON.parse(run.stdout) as OpenApiDocument;
    expect(document).toEqual(nodeOpenApiDocument('portal'));
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([portalNetworkApi.deliverCode.path, portalApi.deliverPortalNotice.path]),
    );
  });

  it('names the server when asked', async () => {
    const run = await renkei('openapi', 'core', '--server', 'https://127.0.0.1:7100');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(nodeOpenApiDocument('core', 'https://127.0.0.1:7100'));
  });

  it('refuses a node kind that does not exist, with exit code 1', async () => {
    const run = await renkei('openapi', 'bank');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'ERR_VALIDATION: The node must be core, jlis, institution, corporate, portal or portal-web.',
    );
    expect(run.stdout).toBe('');
  });
});
