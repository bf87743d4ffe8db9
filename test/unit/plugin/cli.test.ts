import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { CommanderError } from "commander";
import { complete, formatCompletion, type GivenConnection } from "../../../plugin/completion.js";
import { formatLogLine, interleave, parseDuration, parseLogLine } from "../../../plugin/commands/logs.js";
import { kubernetesFailure } from "../../../plugin/errors.js";
import { buildProgram, purgeTarget } from "../../../plugin/program.js";

function program() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const built = buildProgram({ stdout, stderr, stdin: new PassThrough(), interrupted: new Promise(() => undefined) });
  const text = (stream: PassThrough) => (stream.read() as Buffer | null)?.toString("utf8") ?? "";
  return { built, out: () => text(stdout), err: () => text(stderr) };
}

describe("the command line", () => {
  it("has --help on every command, naming its arguments and options", async () => {
    for (const command of program().built.commands.filter((c) => c.name() !== "help")) {
      const { built: fresh, out: freshOut } = program();
      await expect(fresh.parseAsync([command.name(), "--help"], { from: "user" })).rejects.toMatchObject({ exitCode: 0, code: "commander.helpDisplayed" });
      const help = freshOut();
      expect(help, command.name()).toContain(`Usage: kubectl rabbit ${command.name()}`);
      for (const argument of command.registeredArguments) expect(help, command.name()).toContain(argument.name());
      for (const option of command.options) expect(help, command.name()).toContain(option.long!);
    }
  });

  it("refuses an unknown command, an unknown output format, a missing argument and bad numbers or durations as commander usage errors, before any request", async () => {
    for (const argv of [
      ["bogus"],
      ["list", "-o", "xml"],
      ["status"],
      ["consume", "demo"],
      ["publish", "demo", "--count", "-1"],
      ["consume", "demo", "q", "--count", "0"],
      ["consume", "demo", "q", "--timeout", "1.5"],
      ["logs", "demo", "--since", "yesterday"],
    ]) {
      const { built, err } = program();
      const error = await built.parseAsync(argv, { from: "user" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, argv.join(" ")).toBeInstanceOf(CommanderError);
      expect((error as CommanderError).exitCode, argv.join(" ")).toBe(1);
      expect(err(), argv.join(" ")).toMatch(/error: .*\n\(add --help for usage\)/s);
    }
  });
});

describe("purge's arguments", () => {
  it("reads CLUSTER QUEUE, or QUEUE alone with --connection-secret, and refuses the other combinations", () => {
    expect(purgeTarget("demo", "tasks", undefined)).toEqual({ cluster: "demo", queue: "tasks" });
    expect(purgeTarget("tasks", undefined, "external")).toEqual({ queue: "tasks" });
    expect(() => purgeTarget("demo", undefined, undefined)).toThrow(/name the cluster and the queue/);
    expect(() => purgeTarget("demo", "tasks", "external")).toThrow(/with --connection-secret name only the queue/);
  });

  it("lets commander accept purge QUEUE --connection-secret SECRET (the action then needs the API server)", async () => {
    const { built } = program();
    const previous = process.env.KUBECONFIG;
    process.env.KUBECONFIG = "/nonexistent/kubeconfig";
    try {
      const error = await built.parseAsync(["purge", "tasks", "--connection-secret", "external", "--yes"], { from: "user" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      // Not a usage error: the arguments were read, and the kubeconfig is what failed.
      expect(error).not.toBeInstanceOf(CommanderError);
      expect((error as Error).message).toMatch(/cannot read the kubeconfig/);
    } finally {
      if (previous === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = previous;
    }
  });
});

describe("completion for kubectl (kubectl_complete-rabbit)", () => {
  const lookups = (seen: GivenConnection[] = []) => ({
    clusterNames: async (connection: GivenConnection) => {
      seen.push(connection);
      return connection.namespace === "shop" ? ["orders", "billing"] : ["demo"];
    },
  });

  it("completes commands with their summaries, then cluster names from the namespace given before", async () => {
    const { built } = program();
    const commands = await complete(built, ["st"], lookups());
    expect(commands.candidates).toEqual([expect.stringMatching(/^status\t/)]);
    expect(formatCompletion(commands)).toMatch(/^status\t.*\n:4\n$/);
    const seen: GivenConnection[] = [];
    expect((await complete(built, ["-n", "shop", "--context", "kind", "queues", "o"], lookups(seen))).candidates).toEqual(["orders"]);
    expect(seen).toEqual([{ namespace: "shop", context: "kind" }]);
    expect((await complete(built, ["--namespace=shop", "purge", ""], lookups())).candidates).toEqual(["orders", "billing"]);
    expect((await complete(built, ["logs", ""], lookups())).candidates).toEqual(["demo"]);
  });

  it("completes options, the output formats, and nothing where a cluster name is not expected", async () => {
    const { built } = program();
    expect((await complete(built, ["logs", "demo", "--fo"], lookups())).candidates).toEqual([expect.stringMatching(/^--follow\t/)]);
    expect((await complete(built, ["list", "-o", ""], lookups())).candidates).toEqual(["table", "json", "yaml"]);
    expect(await complete(built, ["status", "demo", ""], lookups())).toEqual({ candidates: [], directive: 4 });
    expect((await complete(built, ["--kubeconfig", ""], lookups())).directive).toBe(0);
  });
});

describe("logs", () => {
  it("merges the nodes' lines in the kubelet's time order whatever the length of the fraction, keeping each node's order", () => {
    const lines = [
      parseLogLine("disc-0", "2026-12-04T00:40:12.12345Z second"),
      parseLogLine("disc-0", "2026-12-04T00:40:13Z fourth"),
      parseLogLine("ram-0", "2026-12-04T00:40:12.1234Z first"),
      parseLogLine("ram-0", "2026-12-04T00:40:12.5Z third"),
    ];
    expect(interleave(lines).map((l) => l.text)).toEqual(["first", "second", "third", "fourth"]);
    expect(formatLogLine(lines[2]!, 6, false)).toBe("[ram-0]  first\n");
    expect(formatLogLine(lines[2]!, 6, true)).toBe("[ram-0]  2026-12-04T00:40:12.123400000Z first\n");
    expect(parseLogLine("p", "no timestamp")).toEqual({ pod: "p", time: "", text: "no timestamp" });
  });

  it("reads --since as seconds and refuses anything else", () => {
    expect([parseDuration("30s"), parseDuration("10m"), parseDuration("2h")]).toEqual([30, 600, 7200]);
    expect(() => parseDuration("yesterday")).toThrow(/invalid duration/);
  });
});

describe("errors", () => {
  it("names the permission a refused port-forward needed, from the WebSocket's error event (not an Error, status only in its message)", () => {
    const event = { type: "error", message: "Unexpected server response: 403" };
    const failure = kubernetesFailure(event, "port-forward to pod shop/shop-disc-0", "create pods/portforward");
    expect(failure.message).toBe("port-forward to pod shop/shop-disc-0: forbidden (403): Unexpected server response: 403");
    expect(failure.hint).toBe("your user needs RBAC permission to create pods/portforward");
  });
});
