// Started by process-stop.test.ts as a script with nothing else to do: starts a process that
// ignores SIGTERM, stops it with a short grace, then says so. Nothing but the stop keeps this
// script's event loop alive, as in a benchmark's last teardown step.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProcess } from "../../../dev/exec.js";

const stubborn = startProcess("stubborn", "sh", ["-c", 'trap "" TERM; echo started; while :; do sleep 1; done'], {
  logFile: join(tmpdir(), `stop-child-${process.pid}.log`),
});
console.log(JSON.stringify({ pid: stubborn.pid }));
await new Promise((resolve) => setTimeout(resolve, 300));
await stubborn.stop(200);
console.log("stopped");
