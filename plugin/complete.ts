#!/usr/bin/env node
// kubectl_complete-rabbit: what kubectl runs to complete `kubectl rabbit ...` (see completion.ts).
import { PassThrough } from "node:stream";
import { complete, formatCompletion } from "./completion.js";
import { Kube } from "./kube.js";
import { buildProgram } from "./program.js";

const silent = new PassThrough();
const program = buildProgram({ stdout: silent, stderr: silent, stdin: process.stdin, interrupted: new Promise(() => undefined) });
const completion = await complete(program, process.argv.slice(2), {
  clusterNames: async (connection) => {
    const kube = new Kube(connection);
    return (await kube.listClusters(kube.namespace)).map((cluster) => cluster.metadata.name);
  },
});
process.stdout.write(formatCompletion(completion));
process.exit(0);
