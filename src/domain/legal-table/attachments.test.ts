import { describe, expect, it } from 'vitest';
import { attachmentsReplacedBy, attachmentsVerdict } from './attachments.ts';
import { loadLegalTable } from './index.ts';

const procedure = {
  attachmentsOmitted: [
    { name: '住民票', nameEn: 'Certificate of residence', itemNos: [1] },
    { name: '課税証明書', nameEn: 'Tax certificate', itemNos: [2] },
    { name: '年金関係書類', nameEn: 'Pension documents', itemNos: [2, 53] },
  ],
};

describe('which attachments the answers make unnecessary', () => {
  it('marks an attachment unnecessary only when every item replacing it was provided', () => {
    expect(attachmentsVerdict(procedure, [2, 53], [2])).toEqual({
      unnecessary: ['課税証明書'],
      stillNeeded: ['年金関係書類'],
    });
    expect(attachmentsVerdict(procedure, [2, 53], [2, 53]).unnecessary).toEqual([
      '課税証明書',
      '年金関係書類',
    ]);
  });

  it('says nothing of attachments whose items were not asked for', () => {
    expect(attachmentsVerdict(procedure, [2], [])).toEqual({
      unnecessary: [],
      stillNeeded: ['課税証明書', '年金関係書類'],
    });
    expect(attachmentsReplacedBy(procedure, [1])).toEqual(['住民票']);
  });

  it('gives the 児童手当 intake of legal/: item 2 makes 課税証明書 unnecessary, not 住民票', () => {
    const childAllowance = loadLegalTable().findProcedure('074-01');
    expect(childAllowance).toBeDefined();
    if (!childAllowance) return;
    expect(attachmentsVerdict(childAllowance, [2], [2])).toEqual({
      unnecessary: ['課税証明書'],
      stillNeeded: [],
    });
  });
});
