#!/usr/bin/env bun
// The bramble command line: cac wiring only. Each subcommand's work lives in src/cli/*.

import { cac } from "cac";
import { parseFlags } from "./cli/argv";
import { reportAndExit } from "./cli/errors";
import { SERVER_FLAGS, runServer } from "./cli/server";
import { SIM_FLAGS, runSim } from "./cli/sim";
import { TOKEN_FLAGS, runToken } from "./cli/token";
import { AGENT_FLAGS, runAgent } from "./cli/agent";
import { RESET_FLAGS, runReset } from "./cli/reset";
import { IMAGES_FLAGS, runImages } from "./cli/images";
import { SECRETS_ENCRYPT_FLAGS, runSecretsEncrypt } from "./cli/secrets-encrypt";
import { BACKUP_FLAGS, RESTORE_FLAGS, runBackup, runRestore } from "./cli/backup";
import { KUBECONFIG_FLAGS, runKubeconfig } from "./cli/kubeconfig";
import { runVersion } from "./cli/version";

const argv = process.argv.slice(2);
/** A subcommand's own arguments, verbatim (see cli/argv.ts for why not cac's parsed values). */
const argsOf = (command: string) => argv.slice(argv.indexOf(command) + 1);

const cli = cac("bramble");
cli.option("-v, --version", "Print the version and build information");

cli.command("version", "Print the version and build information").action(() => {
  parseFlags(argsOf("version"), []);
  runVersion();
});

const server = cli.command("server", "Run the control plane: API server on HTTPS with an embedded datastore");
for (const f of SERVER_FLAGS) server.option(`--${f.name}${f.value ? ` ${f.value}` : ""}`, f.description);
server.action(() => runServer(parseFlags(argsOf("server"), SERVER_FLAGS)));

const sim = cli.command("sim", "Run simulated nodes that register, heartbeat and run pods on paper (tests, demos, benchmarks)");
for (const f of SIM_FLAGS) sim.option(`--${f.name}${f.value ? ` ${f.value}` : ""}`, f.description);
sim.action(() => runSim(parseFlags(argsOf("sim"), SIM_FLAGS)));

const agent = cli.command("agent", "Run a node: join a cluster with a bootstrap token, register, heartbeat and run its pods");
for (const f of AGENT_FLAGS) agent.option(`--${f.name}${f.value ? ` ${f.value}` : ""}`, f.description);
agent.action(() => runAgent(argsOf("agent")));

const reset = cli.command("reset", "Remove what bramble made on this machine for the cluster of --data-dir: containers, networks, routes, iptables chains, state");
for (const f of RESET_FLAGS) reset.option(`--${f.name}${f.value ? ` ${f.value}` : ""}`, f.description);
reset.action(() => runReset(argsOf("reset")));

const token = cli.command("token <create|list|delete> [id]", "Manage bootstrap tokens for joining nodes (create [--ttl] [--description] [--print-join-command], list, delete <id>)");
for (const f of [...TOKEN_FLAGS.create, ...TOKEN_FLAGS.list.filter((f) => f.name !== "kubeconfig")]) token.option(`--${f.name}${f.value ? ` ${f.value}` : ""}`, f.description);
token.action(() => runToken(argsOf("token")));

const images = cli.command("images <import> [...files]", "Load image archives (docker save output) into this node's engine, for air-gapped installs");
for (const f of IMAGES_FLAGS) images.option(`--${f.name}${f.value ? ` ${f.value}` : ""}`, f.description);
images.action(() => runImages(argsOf("images")));

const secretsEncrypt = cli.command("secrets-encrypt <status|rotate-keys|reencrypt>", "Secrets encryption on the running server: show its state, rotate the key, or re-encrypt every Secret");
for (const f of SECRETS_ENCRYPT_FLAGS) secretsEncrypt.option(`--${f.name}${f.value ? ` ${f.value}` : ""}`, f.description);
secretsEncrypt.action(() => runSecretsEncrypt(argsOf("secrets-encrypt")));

const backup = cli.command("backup [file]", "Save a snapshot of the embedded datastore, also while the server runs (default file: <data-dir>/server/snapshots/bramble-snapshot-<node>-<unix time>)");
for (const f of BACKUP_FLAGS) backup.option(`--${f.name}${f.value ? ` ${f.value}` : ""}`, f.description);
backup.action(() => runBackup(argsOf("backup")));

const restore = cli.command("restore <file>", "Replace the embedded datastore with a snapshot (the server must be stopped); the previous store is kept aside until the server starts cleanly");
for (const f of RESTORE_FLAGS) restore.option(`--${f.name}${f.value ? ` ${f.value}` : ""}`, f.description);
restore.action(() => runRestore(argsOf("restore")));
const kubeconfig = cli.command("kubeconfig <create|list|revoke>", "Kubeconfigs for people: create --user NAME [--group G]... [--ttl] [--namespace] [-o FILE], list, revoke --user NAME | --id ID");
for (const f of [...KUBECONFIG_FLAGS.create, ...KUBECONFIG_FLAGS.revoke.filter((f) => f.name !== "kubeconfig" && f.name !== "user")]) kubeconfig.option(`--${f.name}${f.value ? ` ${f.value}` : ""}`, f.description);
kubeconfig.action(() => runKubeconfig(argsOf("kubeconfig")));

cli.help();

try {
  cli.parse(process.argv, { run: false });
  if (cli.options.help) {
    // cac has printed the help already.
  } else if (cli.matchedCommand) {
    // Called directly instead of cli.runMatchedCommand(): that would first apply cac's own
    // checks and messages, and src/cli validates every flag itself, naming the flag.
    await cli.matchedCommand.commandAction?.();
  } else if (cli.options.version) {
    runVersion();
  } else if (cli.args.length > 0) {
    throw new Error(`unknown command "${cli.args[0]}" (see bramble --help)`);
  } else {
    cli.outputHelp();
  }
} catch (e) {
  reportAndExit(e);
}
