// The entry point `pulumi up` loads. Pulumi exports what the default export returns as the stack's
// outputs; an entry module may have a default export or named ones, not both, so the program and
// its types live in program.ts.
export { rabbitmqPlatform as default } from "./program.js";
