/**
 * One node as an OS process of its own (`renkei node <kind> --config <file>`), supervised: started
 * and waited for until it prints its ready line; restarted with backoff when it exits unexpectedly,
 * and given up after too many failures in a row soon after starting (a node that cannot start — a
 * port taken, a broken database — would otherwise be restarted forever); stopped with SIGTERM, then
 * SIGKILL after a grace period.
 *
 * The child's standard output and error go to a file of its own beside its log (a crash's stack
 * lands there, never on the supervisor's console); its log proper is the pino file its config names.
 * Its standard input is a pipe the child watches: if the supervisor dies outright, the pipe closes
 * and the node stops, so no node is left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RenkeiError, isErrorCode } from '../shared/errors.ts';
import { processCpuMs } from '../shared/process-cpu.ts';
import type { RunningNode } from '../shared/node.ts';
import type { NodeKind } from './node-config.ts';

/** bin/renkei.js: the same command a person runs, so a supervised node is started as a deployed one. */
const BIN = fileURLToPath(new URL('../../bin/renkei.js', import.meta.url));

/** Mirrors `SUPERVISED_ENV` of src/cli/node-command.ts (the network layer does not import the CLI). */
const SUPERVISED_ENV = 'RENKEI_SUPERVISED';

/**
 * Extra flags for every node's Node.js, from `RENKEI_NODE_FLAGS` (space-separated): e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile each node process (Node refuses `--cpu-prof` in
 * NODE_OPTIONS), or `--max-old-space-size=…`. A node writes its profile when it stops (SIGTERM).
 */
function nodeFlags(): string[] {
  return (process.env.RENKEI_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
}

export type SupervisorEvent =
  | {
      type: 'exited';
      node: string;
      pid: number;
      code: number | null;
      signal: NodeJS.Signals | null;
      restartInMs: number;
    }
  | { type: 'restarted'; node: string; pid: number }
  | { type: 'gave-up'; node: string; failures: number; outputFile: string };

export interface SupervisedNodeOptions {
  /** `core`, `jlis`, `institution:152048`. */
  name: string;
  kind: NodeKind;
  configFile: string;
  /** Where the child's standard output and error go. */
  outputFile: string;
  report: (event: SupervisorEvent) => void;
  /** An exit this soon after a start counts as a failure to start (default 10 s). */
  fastFailureMs?: number;
  /** Failures to start in a row after which the node is given up (default 5). */
  maxFastFailures?: number;
  /** First restart delay, doubled after each failure to start, up to `maxBackoffMs` (default 500 ms, 15 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * How long to wait for the ready line while the process uses no CPU (default 2 minutes), and five
   * times that in all (`StartWatch`).
   */
  readyTimeoutMs?: number;
}

interface Ready {
  url: string;
  publicationUrl?: string;
  networkUrl?: string;
  consoleUrl?: string;
  pid: number;
}

export class SupervisedNode implements RunningNode {
  readonly name: string;
  private child: ChildProcess | undefined;
  private ready: Ready | undefined;
  private output: WriteStream | undefined;
  private startedAt = 0;
  private fastFailures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private gaveUp = false;
  private isUp = false;

  constructor(private readonly options: SupervisedNodeOptions) {
    this.name = options.name;
  }

  get url(): string {
    if (!this.ready) throw new TypeError(`${this.name} has not started`);
    return this.ready.url;
  }

  get publicationUrl(): string | undefined {
    return this.ready?.publicationUrl;
  }

  /** The portal's network listener, from its ready line. */
  get networkUrl(): string | undefined {
    return this.ready?.networkUrl;
  }

  /** The institution's clerk console, from its ready line. */
  get consoleUrl(): string | undefined {
    return this.ready?.consoleUrl;
  }

  /** Whether the process is running and has printed its ready line (false while it starts). */
  get up(): boolean {
    return this.isUp;
  }

  /** The running process's id (undefined between a crash and its restart). */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /**
   * Start the process and wait for its ready line. A node that exits before it is ready is not
   * restarted here: the error (its last line of output, e.g. `ERR_PORT_IN_USE: …`) is thrown.
   */
  async start(): Promise<void> {
    this.ready = await this.spawn();
  }

  private spawn(): Promise<Ready> {
    const { options } = this;
    if (!this.output) {
      mkdirSync(dirname(options.outputFile), { recursive: true });
      this.output = createWriteStream(options.outputFile, { flags: 'a', mode: 0o600 });
    }
    const output = this.output;
    const child = spawn(
      process.execPath,
      [...nodeFlags(), BIN, 'node', options.kind, '--config', options.configFile],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, [SUPERVISED_ENV]: '1' },
      },
    );
    this.child = child;
    this.startedAt = Date.now();
    child.stdin?.on('error', () => undefined); // the child gone: nothing to tell it
    let errorTail = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      output.write(chunk);
      errorTail = (errorTail + chunk.toString('utf8')).slice(-ERROR_TAIL_CHARS);
    });
    return new Promise<Ready>((resolve, reject) => {
      let settled = false;
      let isReady = false;
      let buffered = '';
      const watch = new StartWatch(options.readyTimeoutMs ?? 120_000, Date.now());
      const timer = setInterval(() => {
        const verdict = watch.check(Date.now(), processCpuMs(child.pid));
        if (verdict === 'starting') return;
        fail(notReady(options.name, verdict, watch.limitMs, options.outputFile));
        child.kill('SIGKILL');
      }, 1_000);
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearInterval(timer);
        reject(error);
      };
      child.stdout?.on('data', (chunk: Buffer) => {
        output.write(chunk);
        if (settled) return;
        buffered += chunk.toString('utf8');
        const newline = buffered.indexOf('\n');
        if (newline < 0) return;
        try {
          const line = JSON.parse(buffered.slice(0, newline)) as Partial<Ready>;
          if (typeof line.url !== 'string') throw new TypeError('no url');
          settled = true;
          isReady = true;
          this.isUp = child === this.child;
          clearInterval(timer);
          resolve({
            url: line.url,
            pid: child.pid ?? 0,
            ...(typeof line.publicationUrl === 'string' ? { publicationUrl: line.publicationUrl } : {}),
            ...(typeof line.networkUrl === 'string' ? { networkUrl: line.networkUrl } : {}),
            ...(typeof line.consoleUrl === 'string' ? { consoleUrl: line.consoleUrl } : {}),
          });
        } catch {
          fail(new Error(`${options.name} printed something other than its ready line`));
          child.kill('SIGKILL');
        }
      });
      child.once('error', (error) => fail(error));
      child.once('exit', (code, signal) => {
        if (child === this.child) this.isUp = false;
        if (!isReady) {
          const why = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
          fail(startFailure(options.name, errorTail, why, options.outputFile));
          return;
        }
        this.exited(child, code, signal);
      });
    });
  }

  /** A ready node's process ended: unless we are stopping it, report and restart it. */
  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || child !== this.child) return;
    const { options } = this;
    const fast = Date.now() - this.startedAt < (options.fastFailureMs ?? 10_000);
    this.fastFailures = fast ? this.fastFailures + 1 : 0;
    if (this.fastFailures >= (options.maxFastFailures ?? 5)) {
      this.gaveUp = true;
      options.report({
        type: 'gave-up',
        node: this.name,
        failures: this.fastFailures,
        outputFile: options.outputFile,
      });
      return;
    }
    const base = options.backoffMs ?? 500;
    const delay = Math.min(base * 2 ** Math.max(0, this.fastFailures - 1), options.maxBackoffMs ?? 15_000);
    options.report({
      type: 'exited',
      node: this.name,
      pid: child.pid ?? 0,
      code,
      signal,
      restartInMs: delay,
    });
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    try {
      const ready = await this.spawn();
      this.options.report({ type: 'restarted', node: this.name, pid: ready.pid });
    } catch {
      // It exited (or was killed) before it was ready: a failure to start; try again or give up.
      const child = this.child;
      if (!child) return;
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
      this.exited(child, child.exitCode, child.signalCode);
    }
  }

  /** Whether the supervisor stopped restarting this node. */
  get givenUp(): boolean {
    return this.gaveUp;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    const output = this.output;
    this.output = undefined;
    if (output) await new Promise<void>((resolve) => output.end(resolve));
  }

  close(): Promise<void> {
    return this.stop();
  }
}

/** How much of a starting node's standard error is kept to explain its exit. */
const ERROR_TAIL_CHARS = 16_384;

/**
 * A node that exited before it was ready, as the error its output names. A node that refuses to start
 * prints `ERR_PORT_IN_USE: …` as its last line; a crash prints a stack, and often the error's own
 * properties after it (`{ tries: […] }`), so its last line says nothing (`}`): the message is then the
 * last `…Error: …` line. The node's output file, which holds the whole of it, is named.
 */
export function startFailure(name: string, errorOutput: string, why: string, outputFile: string): Error {
  const lines = errorOutput
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const match = lines.map((line) => /^(ERR_[A-Z_]+): (.*)$/.exec(line)).findLast((m) => m !== null);
  if (match?.[1] !== undefined && isErrorCode(match[1])) {
    return new RenkeiError(match[1], `${name}: ${match[2] ?? ''}`, { node: name });
  }
  const crash = lines.findLast((line) =>
    /^(?:[A-Za-z]*Error|Uncaught [A-Za-z]*)(?: \[[A-Z_0-9]+\])?: /.test(line),
  );
  const telling = crash ?? lines.at(-1);
  return new Error(
    `${name} exited before it was ready (${why})${telling === undefined ? '' : `: ${telling}`}; its output is in ${outputFile}`,
  );
}

/**
 * Whether a node that has not printed its ready line yet is still starting. On a crowded machine (a
 * dozen nodes starting at once on two cores, beside other work) a start can take minutes of wall
 * clock while the process works all along, so a node is given up only when its CPU time has not
 * moved for `limitMs` (hung, or waiting for something that does not come), or after five times that
 * in all (busy but never ready). Where /proc cannot be read the CPU time stays 0: `limitMs` of wall
 * clock, as before.
 */
export class StartWatch {
  private lastCpuMs = 0;
  private lastProgressAt: number;

  constructor(
    readonly limitMs: number,
    private readonly startedAt: number,
  ) {
    this.lastProgressAt = startedAt;
  }

  check(now: number, cpuMs: number): 'starting' | 'stalled' | 'too-long' {
    if (cpuMs > this.lastCpuMs) {
      this.lastCpuMs = cpuMs;
      this.lastProgressAt = now;
    }
    if (now - this.lastProgressAt >= this.limitMs) return 'stalled';
    if (now - this.startedAt >= this.limitMs * 5) return 'too-long';
    return 'starting';
  }
}

function notReady(name: string, verdict: 'stalled' | 'too-long', limitMs: number, outputFile: string): Error {
  const seconds = Math.round(limitMs / 1000);
  const why =
    verdict === 'stalled'
      ? `it used no CPU for ${seconds} s (hung, or waiting for a database or port)`
      : `it was still busy after ${seconds * 5} s`;
  return new RenkeiError(
    'ERR_NODE_NOT_READY',
    `${name} did not become ready: ${why}. Its output is in ${outputFile}.`,
    {
      node: name,
    },
  );
}
