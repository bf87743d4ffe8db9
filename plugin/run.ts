// Runs the program over the process's streams: exit status 0 on success, 1 on a failure (its
// message and what to do, never a stack trace), 2 on a usage error; Ctrl-C ends long commands.
import { CommanderError } from "commander";
import { PluginError } from "./errors.js";
import { buildProgram } from "./program.js";

/** After Ctrl-C a command has this long to close what it opened. */
const INTERRUPT_GRACE_MS = 3000;

export async function runPlugin(argv: readonly string[]): Promise<number> {
  const interrupted = new Promise<void>((resolve) => {
    const onSignal = () => {
      resolve();
      setTimeout(() => process.exit(130), INTERRUPT_GRACE_MS).unref();
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
  const program = buildProgram({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, interrupted });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof PluginError) {
      process.stderr.write(`error: ${error.message}\n${error.hint ? `  ${error.hint}\n` : ""}`);
      return error.exitCode;
    }
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/** Exits once stdout and stderr have been written out: open sockets must not keep the process alive. */
export async function exitWith(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write("", () => resolve()))));
  process.exit(code);
}
