/**
 * Populate a launched network with a world: residents numbered by J-LIS, persons registered in each
 * institution's addressee system (which acquires their codes through J-LIS and the core), and the
 * copies their business systems hold. Everything goes through the nodes' public APIs, as an
 * institution's IT staff would do it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LegalTable } from '../domain/legal-table/types.ts';
import type { Clock } from '../shared/clock.ts';
import { systemClock } from '../shared/clock.ts';
import type { ItemNo } from '../protocol/identifiers.ts';
import type { Network } from './launch.ts';
import type { World } from './world.ts';

export interface SeededResident {
  key: string;
  /** Held in memory only, for the tests that search databases and logs for it; never written. */
  individualNumber: string;
  /** Held in memory only: what a municipality's clerk names to apply for the resident's card. */
  residentRecordCode: string;
  /** Addressee number at each institution that knows the person. */
  addressees: Record<string, string>;
}

export interface SeededWorld {
  residents: Map<string, SeededResident>;
  addresseeNumber(residentKey: string, institutionId: string): string;
}

export async function seedWorld(
  network: Network,
  world: World,
  legalTable: LegalTable,
  options: { clock?: Clock; dataDir?: string } = {},
): Promise<SeededWorld> {
  const clock = options.clock ?? systemClock;
  const jlis = network.jlisClient();
  const residents = new Map<string, SeededResident>();
  for (const resident of world.residents) {
    const numbered = await jlis.registerResident({
      body: {
        name: resident.name,
        nameKana: resident.nameKana,
        address: resident.address,
        dateOfBirth: resident.dateOfBirth,
        sex: resident.sex,
      },
    });
    const seeded: SeededResident = {
      key: resident.key,
      individualNumber: numbered.individualNumber,
      residentRecordCode: numbered.residentRecordCode,
      addressees: {},
    };
    for (const institutionId of resident.knownAt) {
      const person = await network.institution(institutionId).registerPerson({
        body: {
          individualNumber: numbered.individualNumber,
          ...(resident.addresseeNumbers?.[institutionId] === undefined
            ? {}
            : { addresseeNumber: resident.addresseeNumbers[institutionId] }),
        },
      });
      seeded.addressees[institutionId] = person.addresseeNumber;
    }
    for (const [institutionId, items] of Object.entries(resident.copies)) {
      const addresseeNumber = seeded.addressees[institutionId];
      if (addresseeNumber === undefined) {
        throw new TypeError(`world: ${resident.key} has copies at ${institutionId} but is not known there`);
      }
      for (const [itemNoText, overrides] of Object.entries(items ?? {})) {
        const itemNo: ItemNo = Number(itemNoText);
        const data = { ...exampleOf(legalTable, itemNo, clock.now()), ...overrides };
        await network.institution(institutionId).putCopy({ body: { addresseeNumber, itemNo, data } });
      }
    }
    residents.set(resident.key, seeded);
  }

  if (options.dataDir) {
    // What a demo clerk needs to make an inquiry: addressee numbers, never Individual Numbers.
    const directory = [...residents.values()].map((r) => ({ resident: r.key, addressees: r.addressees }));
    writeFileSync(join(options.dataDir, 'world.json'), JSON.stringify(directory, null, 2));
  }

  return {
    residents,
    addresseeNumber(residentKey, institutionId) {
      const number = residents.get(residentKey)?.addressees[institutionId];
      if (number === undefined) throw new TypeError(`${residentKey} is not known at ${institutionId}`);
      return number;
    },
  };
}

/** The layout's example record in force on a date: the base of every demo copy. */
function exampleOf(legalTable: LegalTable, itemNo: ItemNo, on: Date): Record<string, unknown> {
  const layout = legalTable.layoutFor(itemNo, on);
  if (!layout) throw new TypeError(`world: item ${itemNo} has no layout in force`);
  return { ...layout.example };
}
