/**
 * The institution registry: who is part of the network, where its intermediate server listens, and
 * which key version its codes are issued under.
 *
 * Lookups are on every inquiry's hot path, so institutions are cached in memory. The cache is
 * refreshed on this core's own writes at once and otherwise after `cacheMs`, so that several core
 * processes over one database (scaling past one machine) see each other's changes within that time.
 *
 * That bound holds for a suspension too: the process that suspends refuses at once, another core
 * process may still accept the institution's inquiries for up to `cacheMs` (5 s) after it. We chose
 * the bound over a read on every inquiry; `cacheMs: 0` (createCore's `registryCacheMs`) removes it.
 */
import type { InstitutionRegistration } from '../../../protocol/admin.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import { MAX_KEY_VERSION } from '../../../protocol/identifiers.ts';
import type { CoreKeys } from '../keys.ts';
import type { Institution, SuspensionEvent } from '../model.ts';
import type { CoreStore } from '../store.ts';

export interface RegistryOptions {
  store: CoreStore;
  clock: Clock;
  keys: CoreKeys;
  /** How long a cached institution is trusted (default 5 s). */
  cacheMs?: number;
}

export class Registry {
  private readonly cache = new Map<string, { institution: Institution; loadedAt: number }>();
  private readonly cacheMs: number;

  constructor(private readonly options: RegistryOptions) {
    this.cacheMs = options.cacheMs ?? 5_000;
  }

  /** Create or update an institution. A new institution starts at key version 1. */
  async register(
    id: string,
    registration: InstitutionRegistration,
  ): Promise<{ institution: Institution; created: boolean }> {
    const now = this.options.clock.now().toISOString();
    const result = await this.options.store.upsertInstitution({
      id,
      ...registration,
      keyVersion: 1,
      rekeyedVersion: 1,
      suspended: false,
      createdAt: now,
      updatedAt: now,
    });
    this.remember(result.institution);
    return result;
  }

  async find(id: string): Promise<Institution | undefined> {
    const cached = this.cache.get(id);
    if (cached && performance.now() - cached.loadedAt < this.cacheMs) return cached.institution;
    const institution = await this.options.store.findInstitution(id);
    if (institution) this.remember(institution);
    else this.cache.delete(id);
    return institution;
  }

  /** Errors: ERR_UNKNOWN_INSTITUTION. */
  async get(id: string): Promise<Institution> {
    const institution = await this.find(id);
    if (!institution) throw unknownInstitution(id);
    return institution;
  }

  list(): Promise<Institution[]> {
    return this.options.store.listInstitutions();
  }

  /**
   * Move an institution's codes to the next key version: a new master key version is created if this
   * is the first institution to reach it. Codes of the previous version keep working for inquiries
   * (one version of grace), and a provider is sent both versions of a code, until the institution
   * re-keys its table through code reissue and confirms it (`confirmRekeyed`).
   *
   * Errors: ERR_UNKNOWN_INSTITUTION; ERR_REKEY_PENDING while the institution has not confirmed
   * re-keying after the last rotation; ERR_VALIDATION when it has used all 255 versions.
   */
  async rotateInstitutionKey(id: string): Promise<Institution> {
    for (;;) {
      const current = await this.options.store.findInstitution(id);
      if (!current) throw unknownInstitution(id);
      if (current.rekeyedVersion < current.keyVersion) {
        throw new RenkeiError(
          'ERR_REKEY_PENDING',
          `Institution ${id} has not yet re-keyed its codes to version ${current.keyVersion}; ` +
            `run \`renkei codes reissue\` against its intermediate server, then rotate again.`,
          { institutionId: id, keyVersion: current.keyVersion, rekeyedVersion: current.rekeyedVersion },
        );
      }
      const next = current.keyVersion + 1;
      if (next > MAX_KEY_VERSION) {
        throw new RenkeiError('ERR_VALIDATION', `Institution ${id} has no key versions left to rotate to.`, {
          institutionId: id,
        });
      }
      // The master key is persisted before any code can be issued under it.
      this.options.keys.ensureMasterKey(next);
      const updatedAt = this.options.clock.now().toISOString();
      if (await this.options.store.setInstitutionKeyVersion(id, current.keyVersion, next, updatedAt)) {
        const rotated = { ...current, keyVersion: next, updatedAt };
        this.remember(rotated);
        return rotated;
      }
      // Someone rotated concurrently: read again and rotate from there.
    }
  }

  /**
   * The institution says every code it holds is under `keyVersion` (it has reissued them all).
   *
   * Errors: ERR_UNKNOWN_INSTITUTION; ERR_KEY_VERSION_CHANGED when `keyVersion` is not its current
   * version (it rotated during the re-keying: run the reissue again).
   */
  async confirmRekeyed(id: string, keyVersion: number): Promise<Institution> {
    const updatedAt = this.options.clock.now().toISOString();
    if (!(await this.options.store.setInstitutionRekeyed(id, keyVersion, updatedAt))) {
      const current = await this.get(id);
      throw keyVersionChanged(id, keyVersion, current.keyVersion);
    }
    const confirmed = await this.options.store.findInstitution(id);
    if (!confirmed) throw unknownInstitution(id);
    this.remember(confirmed);
    return confirmed;
  }

  /**
   * Suspend (`suspended`) or reinstate an institution, keeping who, when and why. A change to the
   * state it is already in changes nothing and keeps no history (`changed: false`).
   *
   * Errors: ERR_UNKNOWN_INSTITUTION.
   */
  async setSuspended(
    id: string,
    action: SuspensionEvent['action'],
    reason: string,
    by: string,
  ): Promise<{ institution: Institution; history: SuspensionEvent[]; changed: boolean }> {
    const at = this.options.clock.now().toISOString();
    const changed = await this.options.store.setInstitutionSuspended({
      institutionId: id,
      action,
      reason,
      by,
      at,
    });
    const institution = await this.options.store.findInstitution(id);
    if (!institution) throw unknownInstitution(id);
    this.remember(institution);
    return { institution, history: await this.options.store.listSuspensionEvents(id), changed };
  }

  /** The institution and its suspensions and reinstatements, oldest first. Errors: ERR_UNKNOWN_INSTITUTION. */
  async history(id: string): Promise<{ institution: Institution; history: SuspensionEvent[] }> {
    const institution = await this.options.store.findInstitution(id);
    if (!institution) throw unknownInstitution(id);
    return { institution, history: await this.options.store.listSuspensionEvents(id) };
  }

  private remember(institution: Institution): void {
    this.cache.set(institution.id, { institution, loadedAt: performance.now() });
  }
}

export function keyVersionChanged(id: string, expected: number, actual: number): RenkeiError {
  return new RenkeiError(
    'ERR_KEY_VERSION_CHANGED',
    `Institution ${id}'s codes were being reissued under key version ${expected}, but it is now at ` +
      `version ${actual}; run the reissue again from the start.`,
    { institutionId: id, expected, actual },
  );
}

export function unknownInstitution(id: string, role?: string): RenkeiError {
  return new RenkeiError('ERR_UNKNOWN_INSTITUTION', `No institution ${id} is registered with the core.`, {
    institutionId: id,
    ...(role ? { role } : {}),
  });
}

/** The refusal of anything an institution suspended by the operator sends or is sent. */
export function institutionSuspended(
  id: string,
  role: 'requester' | 'provider' | 'sender' | 'institution',
): RenkeiError {
  return new RenkeiError(
    'ERR_INSTITUTION_SUSPENDED',
    `Institution ${id} is suspended from the network by the operator.`,
    { institutionId: id, role },
  );
}
