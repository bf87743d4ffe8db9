// Pulumi's mocks (pulumi.runtime.setMocks), plus a record of every resource registration as the
// engine would receive it: type, name, parent, dependencies and the options the mocks' own
// callback does not show (replaceOnChanges, deleteBeforeReplace, retainOnDelete).
import * as pulumi from "@pulumi/pulumi";
import type { MockMonitor } from "@pulumi/pulumi/runtime/mocks.js";
import type { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb.js";

export interface Registration {
  type: string;
  name: string;
  urn: string;
  /** URN of the parent; the stack's for top-level resources. */
  parent: string;
  custom: boolean;
  inputs: Record<string, unknown>;
  /** Every dependency: dependsOn and those of input properties. */
  dependencies: string[];
  replaceOnChanges: string[];
  deleteBeforeReplace: boolean;
  retainOnDelete: boolean | undefined;
}

export interface MockEngine {
  registrations: Registration[];
  /** The registration of a resource by type and name; fails when there is not exactly one. */
  find(type: string, name: string): Registration;
  ofType(type: string): Registration[];
}

/** Sets up the mocks; resources answer with their inputs as outputs (ids for custom resources). */
export async function mockEngine(options: { preview?: boolean; project?: string } = {}): Promise<MockEngine> {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({ id: args.custom ? `${args.name}-id` : undefined, state: args.inputs as Record<string, unknown> }),
      call: (args) => args.inputs as Record<string, unknown>,
    },
    options.project ?? "project",
    "stack",
    options.preview ?? false,
  );
  const registrations: Registration[] = [];
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitor;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request: RegisterResourceRequest, callback: (error: unknown, response: { getUrn(): string } | undefined) => void) =>
    register(request, (error: unknown, response: { getUrn(): string } | undefined) => {
      if (response) {
        const propertyDependencies = [...request.getPropertydependenciesMap().entries()].flatMap(([, urns]) => urns.getUrnsList());
        registrations.push({
          type: request.getType(),
          name: request.getName(),
          urn: response.getUrn(),
          parent: request.getParent(),
          custom: request.getCustom(),
          inputs: (request.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
          dependencies: [...new Set([...request.getDependenciesList(), ...propertyDependencies])],
          replaceOnChanges: request.getReplaceonchangesList(),
          deleteBeforeReplace: request.getDeletebeforereplace(),
          retainOnDelete: request.getRetainondelete(),
        });
      }
      callback(error, response);
    });
  const ofType = (type: string) => registrations.filter((registration) => registration.type === type);
  return {
    registrations,
    ofType,
    find(type, name) {
      const found = ofType(type).filter((registration) => registration.name === name);
      if (found.length !== 1)
        throw new Error(`${found.length} registrations of ${type} ${name}; registered: ${registrations.map((r) => `${r.type} ${r.name}`).join(", ")}`);
      return found[0]!;
    },
  };
}

/** How a secret value travels to the engine (Pulumi's secret signature around the value). */
export function secretValue(value: unknown): Record<string, unknown> {
  return { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value };
}

/** The value of an Output, once its resources are registered. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/**
 * Waits until every registration the program started has finished: what the language host waits
 * for before it ends a program (the SDK's waitForRPCs, which its typings leave out).
 */
export async function settled(): Promise<void> {
  const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (typeof runtime.waitForRPCs !== "function") throw new Error("@pulumi/pulumi no longer has runtime.waitForRPCs: find another way to wait");
  await runtime.waitForRPCs();
}

/** Waits until these resources (and what they waited for) are registered. */
export async function registered(...resources: pulumi.Resource[]): Promise<void> {
  await Promise.all(resources.map((resource) => valueOf(resource.urn)));
}
