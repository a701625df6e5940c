// The cluster's identity, made by the stack rather than by k3s: the CAs k3s takes from its TLS
// directory, the service-account key, the join token, and an admin client certificate.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { createHash } from "crypto";
import { K3S_TLS_DIR, SeedFile } from "./cloudConfig";

/** The CAs k3s takes from its TLS directory instead of generating its own, and their files. */
const CLUSTER_CAS = [
    { id: "server-ca", file: "server-ca" },
    { id: "client-ca", file: "client-ca" },
    { id: "request-header-ca", file: "request-header-ca" },
    { id: "etcd-peer-ca", file: "etcd/peer-ca" },
    { id: "etcd-server-ca", file: "etcd/server-ca" },
] as const;
type CaId = (typeof CLUSTER_CAS)[number]["id"];

const TEN_YEARS_HOURS = 10 * 365 * 24;

export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export interface ClusterPki {
    /** PEM of the CA that signs the API server's certificate. */
    serverCa: pulumi.Output<string>;
    /** `K10<sha256 of the server CA>::server:<secret>` (secret): servers join with it. */
    token: pulumi.Output<string>;
    /** The agents' password, the servers' `agent-token` (secret). */
    agentSecret: pulumi.Output<string>;
    /** `K10<sha256 of the server CA>::node:<agent secret>` (secret): agents join with it, and it cannot make a server. */
    agentToken: pulumi.Output<string>;
    /** What the first server must find on disk before k3s first starts: the CAs and the SA key. */
    seedFiles: pulumi.Output<SeedFile[]>;
    /** Admin client certificate (O=system:masters) and its key (secret). */
    adminCertificate: pulumi.Output<string>;
    adminKey: pulumi.Output<string>;
}

/**
 * Creates the cluster's CAs (ECDSA, ten years), service-account key, token seed and admin
 * certificate as children of `parent`. `protect` guards everything a running cluster depends
 * on: replacing a CA or the token would orphan it.
 */
export function createClusterPki(name: string, parent: pulumi.Resource, protect: boolean): ClusterPki {
    const identity = { parent, protect };
    const cas = {} as Record<CaId, { key: tls.PrivateKey; cert: tls.SelfSignedCert }>;
    for (const ca of CLUSTER_CAS) {
        const key = new tls.PrivateKey(`${name}-${ca.id}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, identity);
        const cert = new tls.SelfSignedCert(
            `${name}-${ca.id}`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: `${name}-${ca.id}`, organization: "hobby-platform" },
                isCaCertificate: true,
                setSubjectKeyId: true,
                validityPeriodHours: TEN_YEARS_HOURS,
                allowedUses: ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
            },
            identity,
        );
        cas[ca.id] = { key, cert };
    }
    const serviceAccountKey = new tls.PrivateKey(`${name}-service-account-key`, { algorithm: "RSA", rsaBits: 2048 }, identity);
    // The token's secret: 128 bits hashed from a key the tls provider generates, so that one
    // random value needs no extra provider plugin. It never changes: k3s keeps its first token.
    const tokenSeed = new tls.PrivateKey(`${name}-token-seed`, { algorithm: "ED25519" }, identity);
    const serverCa = cas["server-ca"].cert.certPem;
    // Secure form: joining servers check the CA they are shown against this hash (k3s hashes
    // a single-certificate CA file over its exact bytes) before sending the secret.
    const token = pulumi.secret(
        pulumi.all([serverCa, tokenSeed.privateKeyPem]).apply(([ca, seed]) => `K10${sha256(ca)}::server:${sha256(seed).slice(0, 32)}`),
    );
    // The agents' own token, so that a worker's user data cannot make a server or read the
    // datastore's keys; same form, user `node`.
    const agentTokenSeed = new tls.PrivateKey(`${name}-agent-token-seed`, { algorithm: "ED25519" }, identity);
    const agentSecret = pulumi.secret(agentTokenSeed.privateKeyPem.apply((seed) => sha256(seed).slice(0, 32)));
    const agentToken = pulumi.secret(pulumi.all([serverCa, agentSecret]).apply(([ca, secret]) => `K10${sha256(ca)}::node:${secret}`));

    const seedFiles: pulumi.Output<SeedFile[]> = pulumi
        .all([
            pulumi.all(CLUSTER_CAS.map((ca) => pulumi.all([cas[ca.id].cert.certPem, cas[ca.id].key.privateKeyPem]))),
            serviceAccountKey.privateKeyPem,
        ])
        .apply(([pems, saKey]) => [
            ...CLUSTER_CAS.flatMap((ca, i) => [
                { path: `${K3S_TLS_DIR}/${ca.file}.crt`, content: pems[i][0], private: false },
                { path: `${K3S_TLS_DIR}/${ca.file}.key`, content: pems[i][1], private: true },
            ]),
            // k3s verifies service-account tokens with service.key and signs with service.current.key.
            { path: `${K3S_TLS_DIR}/service.key`, content: saKey, private: true },
            { path: `${K3S_TLS_DIR}/service.current.key`, content: saKey, private: true },
        ]);

    // The admin client certificate, signed by the client CA.
    const child = { parent };
    const adminKey = new tls.PrivateKey(`${name}-admin-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, child);
    const adminCsr = new tls.CertRequest(
        `${name}-admin-csr`,
        {
            privateKeyPem: adminKey.privateKeyPem,
            subject: { commonName: "hobby-platform-admin", organization: "system:masters" },
        },
        child,
    );
    // Renewed by the `pulumi up` that runs within 30 days of expiry; the provider's
    // clusterIdentifier keeps that from replacing the Kubernetes objects.
    const adminCert = new tls.LocallySignedCert(
        `${name}-admin`,
        {
            certRequestPem: adminCsr.certRequestPem,
            caPrivateKeyPem: cas["client-ca"].key.privateKeyPem,
            caCertPem: cas["client-ca"].cert.certPem,
            validityPeriodHours: 365 * 24,
            earlyRenewalHours: 30 * 24,
            allowedUses: ["client_auth", "digital_signature", "key_encipherment"],
        },
        child,
    );

    return { serverCa, token, agentSecret, agentToken, seedFiles, adminCertificate: adminCert.certPem, adminKey: adminKey.privateKeyPem };
}
