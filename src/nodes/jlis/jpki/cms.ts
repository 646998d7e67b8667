/**
 * CMS SignedData moved to the trust layer (`src/trust/pki/cms.ts`), since the portal verifies the
 * signed applications of ぴったりサービス with it too and no node may import another's code.
 */
export * from '../../../trust/pki/cms.ts';
