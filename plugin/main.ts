#!/usr/bin/env node
// kubectl-rabbit: `kubectl rabbit ...` once this file is on PATH under that name (npm's bin).
import { exitWith, runPlugin } from "./run.js";

await exitWith(await runPlugin(process.argv.slice(2)));
