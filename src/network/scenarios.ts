/**
 * The seeds' scenarios (BRIEF.md; issue 2 §6), as data and a runner. Each scenario is what a clerk
 * does while handling an application: an inquiry from the requester's intermediate server, through
 * the core, to the provider, and the outcome the seeds lead us to expect.
 */
import { RenkeiError, type ErrorCode } from '../shared/errors.ts';
import type { Network } from './launch.ts';
import type { ClauseNo, InstitutionId, ItemNo, Outcome, ProcedureId } from '../protocol/identifiers.ts';
import type { InquiryStatus } from '../protocol/business.ts';
import type { SeededWorld } from './seed.ts';

export interface Scenario {
  id: string;
  title: string;
  /** The application in the seeds' words. */
  application: string;
  requesterId: InstitutionId;
  providerId: InstitutionId;
  clauseNo: ClauseNo;
  procedureId: ProcedureId;
  itemNos: ItemNo[];
  /** Residents the requester asks about (scenario a asks about the applicant and the spouse). */
  residents: string[];
  expect: { outcome: Outcome; errorCode?: ErrorCode };
}

export interface Exchange {
  scenario: string;
  resident: string;
  processingNumber: string | undefined;
  requesterId: string;
  providerId: string;
  clauseNo: string;
  procedureId: string;
  itemNos: ItemNo[];
  outcome: Outcome | 'pending';
  reason: string | undefined;
  /** Field names of the items received (values are personal data and are not printed). */
  receivedFields: string[];
  asExpected: boolean;
}

/** Make each of a scenario's inquiries as the requester's clerk would, and wait for the outcome. */
export async function runScenario(
  network: Network,
  world: SeededWorld,
  scenario: Scenario,
): Promise<Exchange[]> {
  const requester = network.institution(scenario.requesterId);
  const exchanges: Exchange[] = [];
  for (const resident of scenario.residents) {
    const base = {
      scenario: scenario.id,
      resident,
      requesterId: scenario.requesterId,
      providerId: scenario.providerId,
      clauseNo: scenario.clauseNo,
      procedureId: scenario.procedureId,
      itemNos: scenario.itemNos,
    };
    let status: InquiryStatus;
    try {
      const accepted = await requester.inquire({
        body: {
          addresseeNumber: world.addresseeNumber(resident, scenario.requesterId),
          providerId: scenario.providerId,
          clauseNo: scenario.clauseNo,
          procedureId: scenario.procedureId,
          itemNos: scenario.itemNos,
        },
      });
      status = await requester.getInquiry({
        params: { processingNumber: accepted.processingNumber },
        query: { waitMs: 20_000 },
      });
    } catch (error) {
      if (!(error instanceof RenkeiError)) throw error;
      const processingNumber = error.details.processingNumber;
      const rule = error.details.rule;
      exchanges.push({
        ...base,
        processingNumber: typeof processingNumber === 'string' ? processingNumber : undefined,
        outcome: 'refused',
        reason: typeof rule === 'string' ? `${error.code} (${rule})` : error.code,
        receivedFields: [],
        asExpected: scenario.expect.outcome === 'refused' && scenario.expect.errorCode === error.code,
      });
      continue;
    }
    exchanges.push({
      ...base,
      processingNumber: status.processingNumber,
      outcome: status.outcome,
      reason: status.reason,
      receivedFields: (status.items ?? []).flatMap((item) =>
        Object.keys(item.data).map((field) => `[${item.itemNo}] ${field}`),
      ),
      asExpected: status.outcome === scenario.expect.outcome && scenario.expect.errorCode === undefined,
    });
  }
  return exchanges;
}

/** The six scenarios of issue 2 §6, from the seeds' examples. */
export const DEMO_SCENARIOS: Scenario[] = [
  {
    id: 'a',
    title:
      '児童手当 (child allowance): X市 gets the applicant’s and the spouse’s local tax information from A市',
    application: '児童手当の認定請求 at 三条市 (X市) after moving from 新宿区 (A市)',
    requesterId: '152048',
    providerId: '131041',
    clauseNo: '74',
    procedureId: '074-01',
    itemNos: [2],
    residents: ['yamada-taro', 'yamada-hanako'],
    expect: { outcome: 'provided' },
  },
  {
    id: 'b',
    title: '児童扶養手当 (child-rearing allowance): C市 gets resident-register information from B市',
    application: '児童扶養手当の認定請求 at 大阪市 (C市) after moving from 横浜市 (B市)',
    requesterId: '271004',
    providerId: '141003',
    clauseNo: '57',
    procedureId: '057-01',
    itemNos: [1],
    residents: ['sato-misaki'],
    expect: { outcome: 'provided' },
  },
  {
    id: 'c',
    title: '傷病手当金 (sickness allowance): 協会けんぽ gets pension benefit information from 日本年金機構',
    application: '傷病手当金の支給申請 at 全国健康保険協会',
    requesterId: 'kyokai-kenpo',
    providerId: 'jps',
    clauseNo: '2',
    procedureId: '002-01',
    itemNos: [53],
    residents: ['suzuki-ichiro'],
    expect: { outcome: 'provided' },
  },
  {
    id: 'd',
    title:
      '国民年金保険料の免除 (pension premium exemption): 日本年金機構 gets local tax information from a municipality',
    application: '国民年金保険料の免除・納付猶予の申請 at 日本年金機構; 札幌市 holds the tax information',
    requesterId: 'jps',
    providerId: '011002',
    clauseNo: '48',
    procedureId: '048-01',
    itemNos: [2],
    residents: ['takahashi-kenta'],
    expect: { outcome: 'provided' },
  },
  {
    id: 'e',
    title:
      'An inquiry no clause allows is refused: 協会けんぽ asks A市 for tax information under the child-allowance clause',
    application: 'a health insurer may not use clause 74',
    requesterId: 'kyokai-kenpo',
    providerId: '131041',
    clauseNo: '74',
    procedureId: '074-01',
    itemNos: [2],
    residents: ['yamada-taro'],
    expect: { outcome: 'refused', errorCode: 'ERR_INQUIRY_NOT_AUTHORIZED' },
  },
  {
    id: 'f',
    title: 'The provider holds no copy: A市 knows the person but has no tax information for her',
    application: '児童手当の認定請求 at 三条市 (X市)',
    requesterId: '152048',
    providerId: '131041',
    clauseNo: '74',
    procedureId: '074-01',
    itemNos: [2],
    residents: ['ito-sakura'],
    expect: { outcome: 'not_held' },
  },
];
