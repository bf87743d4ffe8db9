// Started by leftovers.test.ts as a runner that dies: starts a control plane of its own, says
// where it is on stdout, and waits to be SIGKILLed without stopping it.
import { startControlPlane } from "../../../dev/control-plane.js";

const controlPlane = await startControlPlane({ name: `leftover-${process.pid}` });
console.log(JSON.stringify({ dir: controlPlane.dir, pids: controlPlane.processes.map((p) => p.pid) }));
setInterval(() => undefined, 60_000);
