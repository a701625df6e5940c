// Renders a k3s node's user data (server or agent) from its template file. The template is YAML:
// it is parsed, every "{{name}}" inside a string is replaced by its value, the first server's
// seed files are appended to write_files, and the result is serialized again, so multi-line
// values (PEMs, the k3s config) are always quoted and indented correctly, whatever they contain.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

export const NODE_TEMPLATE = path.join(__dirname, "templates", "k3s-node.cloud-init.yaml");

/** Where k3s looks for the CAs it should use instead of generating its own. */
export const K3S_TLS_DIR = "/var/lib/rancher/k3s/server/tls";

/** A file cloud-init writes before k3s first starts. */
export interface SeedFile {
    /** Absolute path on the node. */
    path: string;
    content: string;
    /** Private keys are readable by root only. */
    private: boolean;
}

export interface NodeUserDataArgs {
    /** `server` (a control-plane and etcd member) or `agent` (workloads only): k3s's subcommand. */
    role: "server" | "agent";
    /** Pinned k3s release, e.g. `v1.33.5+k3s1`. */
    k3sVersion: string;
    /** The API's fixed name, in a server's certificate. */
    apiHost: string;
    /** The VPC's IPv4 network: its route names the private interface. */
    vpcCidr: string;
    /** k3s pod network, blocked from the metadata service. */
    podCidr: string;
    /** k3s service network, blocked from the metadata service. */
    serviceCidr: string;
    /** Contents of `/etc/rancher/k3s/config.yaml` (token, server to join or cluster-init, networks). */
    k3sConfig: Record<string, unknown>;
    /** Extra files (the first server's CAs); none on the nodes that join. */
    seedFiles: SeedFile[];
}

const PLACEHOLDER = /\{\{(\w+)\}\}/g;

/**
 * How often the install script tries, and how long it waits between tries: 10 tries 30 s apart
 * ride out a slow network start or a first server still coming up, within the readiness gate's
 * 15 minutes.
 */
export const INSTALL_ATTEMPTS = 10;
export const INSTALL_RETRY_SECONDS = 30;

/**
 * Server 1's choice between initialising and joining: it looks at the API's name every
 * INIT_PROBE_SECONDS, at most INIT_PROBE_ROUNDS times (5 minutes), and initialises only after
 * INIT_ABSENT_ROUNDS looks in a row found no address (20 s on a new stack).
 */
export const INIT_PROBE_ROUNDS = 30;
export const INIT_PROBE_SECONDS = 10;
export const INIT_ABSENT_ROUNDS = 3;

/** Replaces `{{name}}` in every string of a parsed YAML value; an unknown name is an error. */
export function fillTemplate(value: unknown, values: Readonly<Record<string, string>>): unknown {
    if (typeof value === "string") {
        return value.replace(PLACEHOLDER, (_, key: string) => {
            if (!(key in values)) throw new Error(`template placeholder {{${key}}} has no value`);
            return values[key];
        });
    }
    if (Array.isArray(value)) return value.map((v) => fillTemplate(v, values));
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillTemplate(v, values)]));
    }
    return value;
}

/** The cloud-config (`#cloud-config` document) of one k3s node. */
export function renderNodeUserData(args: NodeUserDataArgs): string {
    const template = YAML.parse(fs.readFileSync(NODE_TEMPLATE, "utf8")) as { write_files: Record<string, unknown>[] };
    const doc = fillTemplate(template, {
        k3sRole: args.role,
        // install.sh names the service k3s on a server, k3s-agent on an agent.
        k3sUnit: args.role === "server" ? "k3s" : "k3s-agent",
        k3sVersion: args.k3sVersion,
        apiHost: args.apiHost,
        vpcCidr: args.vpcCidr,
        podCidr: args.podCidr,
        serviceCidr: args.serviceCidr,
        k3sConfig: YAML.stringify(args.k3sConfig),
        installAttempts: String(INSTALL_ATTEMPTS),
        installRetrySeconds: String(INSTALL_RETRY_SECONDS),
        initProbeRounds: String(INIT_PROBE_ROUNDS),
        initProbeSeconds: String(INIT_PROBE_SECONDS),
        initAbsentRounds: String(INIT_ABSENT_ROUNDS),
    }) as { write_files: Record<string, unknown>[] };
    doc.write_files.push(
        ...args.seedFiles.map((f) => ({
            path: f.path,
            owner: "root:root",
            permissions: f.private ? "0600" : "0644",
            content: f.content,
        })),
    );
    return `#cloud-config\n${YAML.stringify(doc, { lineWidth: 0 })}`;
}
