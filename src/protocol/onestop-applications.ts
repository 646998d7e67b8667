/**
 * ぴったりサービス's 申請データダウンロード (seed 003): what a municipality's systems fetch from the
 * Myna Portal, over mutual TLS with the municipality's business-system certificate. Each application
 * comes with the portal's checks of the moment: the CMS signature over the application's bytes, the
 * signing certificate's status at J-LIS (署名用電子証明書有効性確認, OCSP) and the serial of the
 * user-authentication certificate issued with it (利用者証明用電子証明書シリアル番号取得, J-LIS's S→R).
 * No Individual Number anywhere: the signing certificate carries the basic four information, which
 * is what lets the municipality know who applied.
 */
import { z } from 'zod';

/** 申請番号: the day received (JST) and 8 random characters, e.g. `20261127-7KQ2M9XD`. */
export const ApplicationNumber = z.string().regex(/^\d{8}-[0-9A-Z]{8}$/, 'an application number');
export type ApplicationNumber = z.infer<typeof ApplicationNumber>;

export const ApplicationState = z.enum(['new', 'downloaded']);
export type ApplicationState = z.infer<typeof ApplicationState>;

export const ApplicationListQuery = z.object({
  /** Only the new ones (never downloaded), only those downloaded already; both when absent. */
  state: ApplicationState.optional(),
});
export type ApplicationListQuery = z.infer<typeof ApplicationListQuery>;

export const ApplicationSummary = z.object({
  applicationNumber: ApplicationNumber,
  /** The catalogue's procedure (`kosodate-01`) and its name. */
  procedureId: z.string(),
  procedureName: z.string(),
  /** The legal table's procedure, when the network serves it (its clerk may then inquire). */
  legalProcedureId: z.string().optional(),
  receivedAt: z.string(),
  state: ApplicationState,
  downloadedAt: z.string().optional(),
});
export type ApplicationSummary = z.infer<typeof ApplicationSummary>;

export const ApplicationList = z.object({ applications: z.array(ApplicationSummary) });
export type ApplicationList = z.infer<typeof ApplicationList>;

export const ApplicationParams = z.object({ applicationNumber: ApplicationNumber });

/** The portal's checks, made when the application is downloaded. */
export const ApplicationVerification = z.object({
  /** The CMS signature over the application's bytes, by the certificate it carries. */
  signature: z.enum(['valid', 'invalid']),
  /** The signing certificate's status at J-LIS now (OCSP); `unavailable` when J-LIS did not answer. */
  certificateStatus: z.enum(['good', 'revoked', 'unknown', 'untrusted', 'expired', 'unavailable']),
  /** The error code behind a ✗, for the municipality's log. */
  code: z.string().optional(),
  signingSerial: z.string(),
  /** 利用者証明用電子証明書シリアル番号: issued with the signing certificate, as J-LIS linked them. */
  authenticationSerial: z.string(),
  checkedAt: z.string(),
});
export type ApplicationVerification = z.infer<typeof ApplicationVerification>;

export const ApplicationDownload = ApplicationSummary.extend({
  /** The application's bytes as signed (UTF-8 JSON), base64. */
  content: z.string(),
  /** The CMS SignedData (DER, base64), carrying the content and the signing certificate. */
  signedData: z.string(),
  verification: ApplicationVerification,
});
export type ApplicationDownload = z.infer<typeof ApplicationDownload>;

export const ApplicationBulkRequest = z.object({
  /** The new ones (default), or the given numbers (at most 100). */
  applicationNumbers: z.array(ApplicationNumber).min(1).max(100).optional(),
});
export type ApplicationBulkRequest = z.infer<typeof ApplicationBulkRequest>;

export const ApplicationBulk = z.object({ applications: z.array(ApplicationDownload) });
export type ApplicationBulk = z.infer<typeof ApplicationBulk>;
