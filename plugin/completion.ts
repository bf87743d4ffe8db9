// Shell completion for `kubectl rabbit`: kubectl (1.26+) completes a plugin's arguments by running
// `kubectl_complete-rabbit` with the words after `rabbit`, the last one the word being typed, and
// reads Cobra's answer: one candidate per line (a tab, then its description), then
// `:<directive>`. The candidates come from the program's own commands and options, and cluster
// names from the API server.
import type { Command, Option } from "commander";
import { OUTPUT_FORMATS } from "./output.js";

/** Cobra's ShellCompDirective values. */
export const DIRECTIVE = { default: 0, noFileCompletion: 4 } as const;

export interface Completion {
  candidates: string[];
  directive: number;
}

/** The connection options given before the word being completed (undefined: kubectl's defaults). */
export interface GivenConnection {
  namespace?: string;
  context?: string;
  kubeconfig?: string;
}

export interface CompletionLookups {
  clusterNames(connection: GivenConnection): Promise<string[]>;
}

const CONNECTION_OPTIONS: Record<string, keyof GivenConnection> = { "--namespace": "namespace", "--context": "context", "--kubeconfig": "kubeconfig" };

function flags(option: Option): string[] {
  return [option.short, option.long].filter((flag): flag is string => flag !== undefined);
}

function optionFor(word: string, options: readonly Option[]): Option | undefined {
  return options.find((option) => flags(option).includes(word));
}

export async function complete(program: Command, words: readonly string[], lookups: CompletionLookups): Promise<Completion> {
  const toComplete = words[words.length - 1] ?? "";
  const before = words.slice(0, -1);
  let command: Command | undefined;
  const connection: GivenConnection = {};
  const remember = (option: Option | undefined, value: string) => {
    const key = option?.long ? CONNECTION_OPTIONS[option.long] : undefined;
    if (key) connection[key] = value;
  };
  const positionals: string[] = [];
  let pendingOption: Option | undefined;
  for (const word of before) {
    const options = [...program.options, ...(command?.options ?? [])];
    if (pendingOption) {
      remember(pendingOption, word);
      pendingOption = undefined;
      continue;
    }
    if (word.startsWith("-")) {
      const [flag, inline] = word.split("=", 2);
      const option = optionFor(flag!, options);
      if (inline !== undefined) remember(option, inline);
      if (option && (option.required || option.optional) && inline === undefined) pendingOption = option;
      continue;
    }
    if (!command) {
      command = program.commands.find((c) => c.name() === word);
      if (!command) return { candidates: [], directive: DIRECTIVE.noFileCompletion };
      continue;
    }
    positionals.push(word);
  }
  const matching = (candidates: string[]) => ({ candidates: candidates.filter((c) => c.startsWith(toComplete)), directive: DIRECTIVE.noFileCompletion });

  if (pendingOption) {
    if (pendingOption.long === "--output") return matching([...OUTPUT_FORMATS]);
    if (pendingOption.long === "--kubeconfig") return { candidates: [], directive: DIRECTIVE.default };
    return matching(pendingOption.argChoices ?? []);
  }
  if (toComplete.startsWith("-")) {
    const options = [...program.options, ...(command?.options ?? [])];
    return matching(options.flatMap((option) => (option.long ? [`${option.long}\t${option.description}`] : [])));
  }
  if (!command) return matching(program.commands.filter((c) => c.name() !== "help").map((c) => `${c.name()}\t${c.summary() || c.description()}`));
  const argument = command.registeredArguments[positionals.length];
  if (argument?.name() === "cluster") return matching(await lookups.clusterNames(connection).catch(() => []));
  return { candidates: [], directive: DIRECTIVE.noFileCompletion };
}

export function formatCompletion(completion: Completion): string {
  return [...completion.candidates, `:${completion.directive}`].join("\n") + "\n";
}
