/**
 * ぴったりサービス, the service finder: the procedures each municipality registers for online
 * application (電子申請), searched by life event (子育て, 介護, 被災者支援, 引越し), by municipality and
 * by keyword. The catalogue (`onestop/catalogue.yaml`: life events, forms, procedures) and each
 * municipality's registration (`onestop/registrations/<code>.yaml`) are data; `parseOnestop`
 * validates them against the legal table and refuses what is wrong, naming the file and the entry.
 *
 * A catalogue entry linked to a legal-table procedure (`procedureId`) carries that procedure's omitted
 * attachments (`attachmentsOmitted`): the network's answers replace them, so the resident is told
 * 添付不要 and the form never asks for them. We considered deciding 添付不要 per application from the
 * answers actually provided (`attachmentsVerdict`, as the clerk's intake does), but the resident applies
 * before any inquiry is made: what the portal can say is what the procedure lets the network replace,
 * and the municipality's clerk asks for the items when handling the application.
 */
import { parse } from 'yaml';
import { z } from 'zod';
import type { LegalTable } from '../../../domain/legal-table/index.ts';
import { ProcedureId } from '../../../protocol/identifiers.ts';
import { FormField } from '../../../protocol/portal-web-api.ts';
import { RenkeiError } from '../../../shared/errors.ts';

const Id = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'lower-case letters, digits and hyphens');
const Text = (max: number) => z.string().trim().min(1).max(max);

/** One field of a form, as the catalogue declares it (the 申請API's wire contract lists it too). */
export { FormField };

export const LifeEvent = z.object({ id: Id, name: Text(50), nameEn: Text(100) }).strict();
export type LifeEvent = z.infer<typeof LifeEvent>;

const CatalogueEntry = z
  .object({
    id: Id,
    name: Text(200),
    nameEn: Text(200),
    lifeEvents: z.array(Id).min(1),
    procedureId: ProcedureId.optional(),
    form: Id,
  })
  .strict();

const Catalogue = z
  .object({
    lifeEvents: z.array(LifeEvent).min(1),
    forms: z.record(Id, z.array(FormField).min(1).max(40)),
    procedures: z.array(CatalogueEntry).min(1),
  })
  .strict();

const Registration = z
  .object({
    municipalityId: z.string().regex(/^\d{2}(?!0000)\d{4}$/, 'a municipality’s six-digit code'),
    name: Text(50),
    nameEn: Text(100),
    procedures: z.array(Id).min(1),
  })
  .strict();

/** A procedure of the catalogue, with the legal table's omitted attachments when it is linked. */
export interface OnlineProcedure {
  id: string;
  name: string;
  nameEn: string;
  lifeEvents: string[];
  /** The legal table's procedure, when the network serves it. */
  procedureId: string | undefined;
  /** 添付不要: the attachments the network's answers replace (the legal table's names). */
  attachmentsOmitted: string[];
  /** The same, in English (the legal table's `nameEn`), for the pages in English. */
  attachmentsOmittedEn: string[];
  form: FormField[];
}

export interface Municipality {
  id: string;
  name: string;
  nameEn: string;
}

/** One hit of the finder: a procedure a municipality accepts online. */
export interface FinderResult {
  municipality: Municipality;
  procedure: OnlineProcedure;
}

export interface Onestop {
  lifeEvents: LifeEvent[];
  municipalities: Municipality[];
  procedures: OnlineProcedure[];
  /** Municipality id → the catalogue ids it registered, in its file's order. */
  registrations: Map<string, string[]>;
}

/** The field names a form may never use: an Individual Number is not the portal's to collect. */
const INDIVIDUAL_NUMBER = /individualnumber|mynumber|個人番号|マイナンバー/i;

/**
 * Parse and check the catalogue and the registrations (`file name → YAML text`). Errors:
 * ERR_CONFIG_INVALID naming the file and the entry (an unknown life event, form, legal-table procedure
 * or catalogue id; a duplicate; a field that looks like an Individual Number).
 */
export function parseOnestop(
  source: { catalogue: string; registrations: ReadonlyMap<string, string> },
  legalTable: LegalTable,
): Onestop {
  const invalid = (where: string, why: string) =>
    new RenkeiError('ERR_CONFIG_INVALID', `onestop/${where}: ${why}`);
  const read = <T>(schema: z.ZodType<T>, text: string, where: string): T => {
    let raw: unknown;
    try {
      raw = parse(text);
    } catch {
      throw invalid(where, 'not YAML');
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw invalid(where, `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
    return parsed.data;
  };
  const catalogue = read(Catalogue, source.catalogue, 'catalogue.yaml');
  const events = new Set(catalogue.lifeEvents.map((e) => e.id));
  for (const [name, fields] of Object.entries(catalogue.forms)) {
    const seen = new Set<string>();
    for (const field of fields) {
      const where = `catalogue.yaml: form ${name}: field ${field.name}`;
      if (seen.has(field.name)) throw invalid(where, 'named twice');
      seen.add(field.name);
      if (INDIVIDUAL_NUMBER.test(field.name) || INDIVIDUAL_NUMBER.test(field.label)) {
        throw invalid(where, 'a form may not ask for an Individual Number');
      }
      if ((field.type === 'select') !== (field.options !== undefined)) {
        throw invalid(where, 'a select has options, and only a select');
      }
      // The form in English needs each choice and hint in English too: required, so none is forgotten.
      if (field.options !== undefined && field.optionsEn?.length !== field.options.length) {
        throw invalid(
          where,
          `optionsEn must name each of the ${field.options.length} options in English, in order`,
        );
      }
      if (field.options === undefined && field.optionsEn !== undefined) {
        throw invalid(where, 'optionsEn without options');
      }
      if ((field.hint === undefined) !== (field.hintEn === undefined)) {
        throw invalid(where, 'a hint has its English (hintEn), and hintEn its hint');
      }
      if (field.pattern !== undefined) {
        try {
          new RegExp(field.pattern, 'u');
        } catch {
          throw invalid(where, 'pattern is not a regular expression');
        }
      }
    }
  }
  const procedures: OnlineProcedure[] = [];
  for (const entry of catalogue.procedures) {
    const where = `catalogue.yaml: procedure ${entry.id}`;
    if (procedures.some((p) => p.id === entry.id)) throw invalid(where, 'listed twice');
    const unknownEvent = entry.lifeEvents.find((e) => !events.has(e));
    if (unknownEvent) throw invalid(where, `life event ${unknownEvent} is not defined`);
    const form = catalogue.forms[entry.form];
    if (!form) throw invalid(where, `form ${entry.form} is not defined`);
    const legal = entry.procedureId === undefined ? undefined : legalTable.findProcedure(entry.procedureId);
    if (entry.procedureId !== undefined && !legal) {
      throw invalid(where, `procedure ${entry.procedureId} is not in legal/procedures.yaml`);
    }
    procedures.push({
      id: entry.id,
      name: entry.name,
      nameEn: entry.nameEn,
      lifeEvents: entry.lifeEvents,
      procedureId: entry.procedureId,
      attachmentsOmitted: legal?.attachmentsOmitted.map((a) => a.name) ?? [],
      attachmentsOmittedEn: legal?.attachmentsOmitted.map((a) => a.nameEn) ?? [],
      form,
    });
  }
  const municipalities: Municipality[] = [];
  const registrations = new Map<string, string[]>();
  for (const [file, text] of [...source.registrations].sort(([a], [b]) => a.localeCompare(b))) {
    const where = `registrations/${file}`;
    const registration = read(Registration, text, where);
    if (registrations.has(registration.municipalityId)) {
      throw invalid(where, `municipality ${registration.municipalityId} is registered twice`);
    }
    const unknown = registration.procedures.find((id) => !procedures.some((p) => p.id === id));
    if (unknown) throw invalid(where, `procedure ${unknown} is not in catalogue.yaml`);
    municipalities.push({
      id: registration.municipalityId,
      name: registration.name,
      nameEn: registration.nameEn,
    });
    registrations.set(registration.municipalityId, [...new Set(registration.procedures)]);
  }
  return { lifeEvents: catalogue.lifeEvents, municipalities, procedures, registrations };
}

export interface FinderQuery {
  lifeEvent?: string | undefined;
  municipalityId?: string | undefined;
  keyword?: string | undefined;
}

/** The finder over the registered procedures. Pure: no storage, no network. */
export class FinderService {
  constructor(private readonly onestop: Onestop) {}

  get lifeEvents(): readonly LifeEvent[] {
    return this.onestop.lifeEvents;
  }

  get municipalities(): readonly Municipality[] {
    return this.onestop.municipalities;
  }

  /**
   * The procedures registered by the municipalities, filtered by every criterion given (an empty or
   * absent one does not filter). The keyword matches the procedure's name (Japanese or English, any
   * case), its life events' names and the attachments it makes unnecessary, so「課税証明書」finds the
   * procedures that spare one. Ordered by municipality, then the municipality's own order.
   */
  search(query: FinderQuery): FinderResult[] {
    const keyword = query.keyword?.trim().toLowerCase() ?? '';
    const results: FinderResult[] = [];
    for (const municipality of this.onestop.municipalities) {
      if (query.municipalityId && municipality.id !== query.municipalityId) continue;
      for (const id of this.onestop.registrations.get(municipality.id) ?? []) {
        const procedure = this.onestop.procedures.find((p) => p.id === id);
        if (!procedure) continue;
        if (query.lifeEvent && !procedure.lifeEvents.includes(query.lifeEvent)) continue;
        if (keyword && !this.haystack(procedure).includes(keyword)) continue;
        results.push({ municipality, procedure });
      }
    }
    return results;
  }

  /** The procedure `procedureId` if `municipalityId` registered it; undefined otherwise. */
  find(municipalityId: string, procedureId: string): FinderResult | undefined {
    const municipality = this.onestop.municipalities.find((m) => m.id === municipalityId);
    if (!municipality || !this.onestop.registrations.get(municipalityId)?.includes(procedureId)) {
      return undefined;
    }
    const procedure = this.onestop.procedures.find((p) => p.id === procedureId);
    return procedure && { municipality, procedure };
  }

  private haystack(procedure: OnlineProcedure): string {
    const events = this.onestop.lifeEvents.filter((e) => procedure.lifeEvents.includes(e.id));
    return [
      procedure.name,
      procedure.nameEn,
      ...events.flatMap((e) => [e.name, e.nameEn]),
      ...procedure.attachmentsOmitted,
      ...procedure.attachmentsOmittedEn,
    ]
      .join('\n')
      .toLowerCase();
  }
}
