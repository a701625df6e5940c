import * as YAML from "yaml";

const base64 = (s: string) => Buffer.from(s).toString("base64");

/** An admin kubeconfig with the certificates embedded, for `kubectl` and the Kubernetes provider. */
export function buildKubeconfig(name: string, server: string, caPem: string, certPem: string, keyPem: string): string {
    return YAML.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name, cluster: { server, "certificate-authority-data": base64(caPem) } }],
        users: [{ name: `${name}-admin`, user: { "client-certificate-data": base64(certPem), "client-key-data": base64(keyPem) } }],
        contexts: [{ name, context: { cluster: name, user: `${name}-admin` } }],
        "current-context": name,
    });
}
