// What a command runs with: the API server, the output format, and its streams (a test gives
// its own). Commands print through it and nothing else.
import type { Readable, Writable } from "node:stream";
import { Kube, type KubeOptions } from "./kube.js";
import { parseFormat, type OutputFormat } from "./output.js";

export interface GlobalOptions extends KubeOptions {
  output?: string;
}

export interface Session {
  readonly kube: Kube;
  readonly format: OutputFormat;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: Readable;
  readonly now: () => number;
  /** Resolves on Ctrl-C or SIGTERM: long-running commands (manage, logs -f, consume) stop then. */
  readonly interrupted: Promise<void>;
}

export interface SessionIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  interrupted: Promise<void>;
}

export function openSession(options: GlobalOptions, io: SessionIo): Session {
  return { kube: new Kube(options), format: parseFormat(options.output), now: Date.now, ...io };
}
