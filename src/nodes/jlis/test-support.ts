/**
 * For J-LIS's tests over HTTP: a JSON POST to its admin API, and a resident numbered with a card
 * applied for, issued and delivered, as a municipality's clerk would do it.
 */
import { expect } from 'vitest';
import type { CardIssued, CardView } from '../../protocol/cards.ts';

export type JsonPost = <T = unknown>(path: string, body: unknown) => Promise<{ status: number; json: T }>;

/** POST JSON to the J-LIS listening at the URL `baseUrl()` gives (read at each call). */
export function jsonPost(baseUrl: () => string): JsonPost {
  return async <T = unknown>(path: string, body: unknown) => {
    const response = await fetch(new URL(path, baseUrl()), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as T };
  };
}

/** A resident with a delivered card and both certificates: the card id, its archive, S and R. */
export async function deliveredCardHolder(
  post: JsonPost,
  resident: object,
  secrets: { pin: string; signingPassword: string },
): Promise<{ residentRecordCode: string; cardId: string; archive: string; S: string; R: string }> {
  const { json: numbered } = await post<{ residentRecordCode: string }>('/admin/v1/residents', resident);
  const residentRecordCode = numbered.residentRecordCode;
  const { json: applied } = await post<CardView>('/admin/v1/card-applications', { residentRecordCode });
  const issued = await post<CardIssued>('/admin/v1/card-issuances', { cardId: applied.cardId, ...secrets });
  expect(issued.status).toBe(201);
  expect((await post('/admin/v1/card-deliveries', { cardId: applied.cardId })).status).toBe(200);
  return {
    residentRecordCode,
    cardId: applied.cardId,
    archive: issued.json.archive,
    S: issued.json.card.signingSerial!,
    R: issued.json.card.authenticationSerial!,
  };
}
