/**
 * Where the clerk console finds the institutions a clerk may pick as providers: the core's directory
 * (`coreApi.getDirectory`, the registry's institutions by name and kind), so that an institution the
 * operator registers appears at every console without a change to its config. Fetched when a page
 * needs it and kept for a minute; if the core cannot be reached, the last directory fetched serves
 * (and, before any, the entries of the node's config, if it has some), and the failure is logged by
 * its code. Without a core to ask (a console in a test of its own), the configured entries only.
 */
import type { NetworkDirectory } from '../../../protocol/admin.ts';
import type { InstitutionKind } from '../../../protocol/identifiers.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';

export interface DirectoryEntry {
  id: string;
  name: string;
  /** The registry's English name, for the console in English (the name where none is known). */
  nameEn?: string | undefined;
  kind: InstitutionKind;
}

export interface ProviderDirectoryOptions {
  /** Ask the core for its directory. */
  fetch?: (() => Promise<NetworkDirectory>) | undefined;
  /** The config's entries: used until the core's directory is fetched, or without a core. */
  configured?: readonly DirectoryEntry[] | undefined;
  logger: Logger;
  /** How long a fetched directory is used before asking again (default a minute). */
  maxAgeMs?: number;
}

export class ProviderDirectory {
  private fetched: { entries: DirectoryEntry[]; at: number } | undefined;
  private pending: Promise<readonly DirectoryEntry[]> | undefined;

  constructor(private readonly options: ProviderDirectoryOptions) {}

  /** The directory as best known now (see the module comment). */
  async entries(): Promise<readonly DirectoryEntry[]> {
    const { fetch } = this.options;
    const fallback = this.fetched?.entries ?? this.options.configured ?? [];
    if (!fetch) return fallback;
    if (this.fetched && performance.now() - this.fetched.at < (this.options.maxAgeMs ?? 60_000)) {
      return this.fetched.entries;
    }
    this.pending ??= fetch()
      .then((directory) => {
        const entries = directory.institutions.map(({ id, name, nameEn, kind }) => ({
          id,
          name,
          nameEn,
          kind,
        }));
        this.fetched = { entries, at: performance.now() };
        return entries;
      })
      .catch((error: unknown) => {
        this.options.logger.warn(
          { code: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL' },
          "the core's directory could not be fetched: the last one known serves",
        );
        return fallback;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}
