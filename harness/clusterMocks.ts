// What the tls and Vultr providers would compute for the HobbyCluster's resources, for the mocks:
// real keys and certificates (so tests can check signatures and chains, not just shapes) and
// deterministic addresses for the instances.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, webcrypto } from "crypto";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** A key pair in the PEM encodings the tls provider returns. */
function generateKey(algorithm: string, rsaBits = 2048): { privateKeyPem: string; publicKeyPem: string; privateKeyPemPkcs8: string } {
    const pair =
        algorithm === "RSA"
            ? generateKeyPairSync("rsa", { modulusLength: rsaBits })
            : algorithm === "ECDSA"
              ? generateKeyPairSync("ec", { namedCurve: "P-256" })
              : generateKeyPairSync("ed25519");
    const pkcs8 = pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    // Like the provider: PKCS#1 for RSA, SEC 1 for ECDSA, PKCS#8 for Ed25519.
    const native =
        algorithm === "RSA"
            ? (pair.privateKey.export({ type: "pkcs1", format: "pem" }) as string)
            : algorithm === "ECDSA"
              ? (pair.privateKey.export({ type: "sec1", format: "pem" }) as string)
              : pkcs8;
    return { privateKeyPem: native, privateKeyPemPkcs8: pkcs8, publicKeyPem: pair.publicKey.export({ type: "spki", format: "pem" }) as string };
}

/** WebCrypto parameters for a key's type. */
function algorithmOf(key: KeyObject): webcrypto.EcKeyImportParams & webcrypto.RsaHashedImportParams {
    return (
        key.asymmetricKeyType === "rsa"
            ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }
            : key.asymmetricKeyType === "ed25519"
              ? { name: "Ed25519" }
              : { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" }
    ) as never;
}

/** The WebCrypto key pair of a PEM private key. */
async function cryptoKeys(privateKeyPem: string): Promise<webcrypto.CryptoKeyPair> {
    const key = createPrivateKey(privateKeyPem);
    const alg = algorithmOf(key);
    const der = key.export({ type: "pkcs8", format: "der" });
    const spki = createPublicKey(key).export({ type: "spki", format: "der" });
    return {
        privateKey: (await webcrypto.subtle.importKey("pkcs8", der, alg, true, ["sign"])) as webcrypto.CryptoKey,
        publicKey: (await webcrypto.subtle.importKey("spki", spki, alg, true, ["verify"])) as webcrypto.CryptoKey,
    };
}

interface Subject {
    commonName?: string;
    organization?: string;
}
const dn = (s: Subject | undefined) => [s?.commonName && `CN=${s.commonName}`, s?.organization && `O=${s.organization}`].filter(Boolean).join(", ");

const KEY_USAGES: Record<string, number> = {
    cert_signing: x509.KeyUsageFlags.keyCertSign,
    crl_signing: x509.KeyUsageFlags.cRLSign,
    digital_signature: x509.KeyUsageFlags.digitalSignature,
    key_encipherment: x509.KeyUsageFlags.keyEncipherment,
};
const EXT_USAGES: Record<string, string> = { client_auth: x509.ExtendedKeyUsage.clientAuth, server_auth: x509.ExtendedKeyUsage.serverAuth };

/** What a certificate says, in the tls provider's input names. */
export interface CertSpec {
    subject?: Subject;
    isCaCertificate?: boolean;
    validityPeriodHours: number;
    allowedUses: string[];
    ipAddresses?: string[];
    dnsNames?: string[];
}

function extensions(spec: CertSpec): x509.Extension[] {
    const ext: x509.Extension[] = [new x509.BasicConstraintsExtension(!!spec.isCaCertificate, undefined, true)];
    const usage = spec.allowedUses.reduce((acc, u) => acc | (KEY_USAGES[u] ?? 0), 0);
    if (usage) ext.push(new x509.KeyUsagesExtension(usage, true));
    const eku = spec.allowedUses.filter((u) => u in EXT_USAGES).map((u) => EXT_USAGES[u]);
    if (eku.length) ext.push(new x509.ExtendedKeyUsageExtension(eku));
    const names = [
        ...(spec.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
        ...(spec.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ];
    if (names.length) ext.push(new x509.SubjectAlternativeNameExtension(names));
    return ext;
}

let serial = 1;
const validity = (hours: number) => ({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + hours * 3_600_000) });

/** A self-signed certificate, as `tls.SelfSignedCert` makes it. */
export async function selfSignedCert(privateKeyPem: string, spec: CertSpec): Promise<string> {
    const keys = await cryptoKeys(privateKeyPem);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: (serial++).toString(16).padStart(2, "0"),
        name: dn(spec.subject),
        keys,
        signingAlgorithm: algorithmOf(createPrivateKey(privateKeyPem)),
        extensions: extensions(spec),
        ...validity(spec.validityPeriodHours),
    });
    return cert.toString("pem") + "\n";
}

/** A certificate request, as `tls.CertRequest` makes it. */
export async function certRequest(privateKeyPem: string, subject: Subject): Promise<string> {
    const keys = await cryptoKeys(privateKeyPem);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: dn(subject),
        keys,
        signingAlgorithm: algorithmOf(createPrivateKey(privateKeyPem)),
    });
    return csr.toString("pem") + "\n";
}

/** A certificate for a request signed by a CA, as `tls.LocallySignedCert` makes it. */
export async function locallySignedCert(certRequestPem: string, caCertPem: string, caPrivateKeyPem: string, spec: CertSpec): Promise<string> {
    const csr = new x509.Pkcs10CertificateRequest(certRequestPem);
    const ca = new x509.X509Certificate(caCertPem);
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16).padStart(2, "0"),
        subject: csr.subject,
        issuer: ca.subject,
        publicKey: csr.publicKey,
        signingKey: (await cryptoKeys(caPrivateKeyPem)).privateKey,
        signingAlgorithm: algorithmOf(createPrivateKey(caPrivateKeyPem)),
        extensions: extensions(spec),
        ...validity(spec.validityPeriodHours),
    });
    return cert.toString("pem") + "\n";
}

/** Node N of a cluster (resource name `<cluster>-N`) gets public 203.0.113.(10+N) and private 10.99.0.(10+N). */
function instanceAddresses(name: string): Record<string, string> {
    const n = Number(/-(\d+)$/.exec(name)?.[1] ?? 0);
    return {
        mainIp: `203.0.113.${10 + n}`,
        internalIp: `10.99.0.${10 + n}`,
        v6MainIp: `2001:db8::${10 + n}`,
        defaultPassword: `mock-root-password-${n}`,
    };
}

/**
 * Like the tls provider with its state, a resource keeps what it made as long as its name and
 * inputs stay the same: a rerun sees the same keys (and the suite skips regenerating them).
 */
const made = new Map<string, Promise<Record<string, any>>>();
const kept =
    (make: (inputs: Record<string, any>) => Promise<Record<string, any>> | Record<string, any>) => (inputs: Record<string, any>, name: string) => {
        const key = `${name}|${JSON.stringify(inputs)}`;
        if (!made.has(key)) made.set(key, Promise.resolve(make(inputs)));
        return made.get(key)!;
    };

/** Computed outputs of the tls and Vultr resources and of the readiness gate, by type token. */
export const CLUSTER_MOCK_STATES: Record<string, (inputs: Record<string, any>, name: string) => Promise<Record<string, any>> | Record<string, any>> =
    {
        "tls:index/privateKey:PrivateKey": kept((inputs) => generateKey(inputs.algorithm, inputs.rsaBits)),
        "tls:index/selfSignedCert:SelfSignedCert": kept(async (inputs) => ({
            certPem: await selfSignedCert(inputs.privateKeyPem, inputs as CertSpec),
        })),
        "tls:index/certRequest:CertRequest": kept(async (inputs) => ({ certRequestPem: await certRequest(inputs.privateKeyPem, inputs.subject) })),
        "tls:index/locallySignedCert:LocallySignedCert": kept(async (inputs) => ({
            certPem: await locallySignedCert(inputs.certRequestPem, inputs.caCertPem, inputs.caPrivateKeyPem, inputs as CertSpec),
        })),
        "vultr:index/instance:Instance": (_inputs, name) => instanceAddresses(name),
        "vultr:index/objectStorage:ObjectStorage": (_inputs, name) => ({
            s3Hostname: "ams1.vultrobjects.com",
            s3AccessKey: `MOCKACCESSKEY${name.length}`,
            s3SecretKey: `mock-s3-secret-key-of-${name}`,
        }),
        // The gate's create returns the nodes it saw Ready: all it was asked for.
        "pulumi-nodejs:dynamic/hobby-platform:ClusterReadiness": (inputs) => ({ readyNodes: inputs.nodeNames }),
    };

/** An instance as `vultr.getInstances` lists it (the fields the program reads). */
export interface ListedInstance {
    id: string;
    label: string;
    tags: string[];
    /** The mocked firewall group's id of the cluster "cluster" is `cluster-firewall-id`. */
    firewallGroupId: string;
}

/**
 * The mocked Vultr account: the instances it already has (none for a new stack) and its DNS
 * zones. A test of an existing stack lists that stack's instances here, and empties it after.
 */
export const vultrAccount: { instances: ListedInstance[]; dnsZones: string[] } = { instances: [], dnsZones: ["example.com"] };

/** What the Vultr data sources answer, by invoke token: Object Storage cluster 4 is Amsterdam's here. */
export const CLUSTER_MOCK_CALLS: Record<string, (inputs: Record<string, any>) => Record<string, any>> = {
    // Like the provider's filters (data_source_vultr_common_schema.go): every filter must match; a
    // text field matches any of the values, a list field (tags) must hold all of them.
    "vultr:index/getInstances:getInstances": (inputs) => ({
        id: "instances",
        instances: vultrAccount.instances.filter((vm) =>
            (inputs.filters ?? []).every((f: { name: string; values: string[] }) =>
                f.name === "tags"
                    ? f.values.every((v) => vm.tags.includes(v))
                    : f.name === "firewall_group_id" && f.values.includes(vm.firewallGroupId),
            ),
        ),
    }),
    "vultr:index/getDnsDomain:getDnsDomain": (inputs) => {
        if (!vultrAccount.dnsZones.includes(inputs.domain))
            throw new Error(`error getting dns domain: gave up after 3 attempts, last error : {"error":"Invalid domain.","status":404}`);
        return { id: inputs.domain, domain: inputs.domain, dnssec: "disabled" };
    },
    "vultr:index/getObjectStorageCluster:getObjectStorageCluster": (inputs) => ({
        id: 4,
        region: inputs.filters?.[0]?.values?.[0],
        hostname: "ams1.vultrobjects.com",
        deploy: "yes",
    }),
};
