/** A node started on a port: what the network launcher, the demo and the tests hold on to. */
export interface RunningNode {
  /** e.g. `core`, `jlis`, `institution:131016`. */
  readonly name: string;
  /** Base URL, e.g. `http://127.0.0.1:7101`. */
  readonly url: string;
  /** The plain-HTTP publication point, when the node has one: the core's (the network's CRL, OCSP, CA bundle), J-LIS's (JPKI's). */
  readonly publicationUrl?: string;
  /** A node with a network listener apart from its main one (the portal: residents on `url`). */
  readonly networkUrl?: string;
  /** The node's staff console (the institution's clerk console), when it serves one. */
  readonly consoleUrl?: string;
  /** Stop accepting requests, finish background work, close databases and flush logs. */
  close(): Promise<void>;
}
