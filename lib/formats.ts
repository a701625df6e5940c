// Value formats that both the config validation and a component's own argument check need.

/** A registry host with an optional port, e.g. `registry.example.com:5050`. */
export const REGISTRY_HOST = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$/;

/** agentk dials KAS over TLS only: WebSocket (`wss://`) or gRPC (`grpcs://`), host, optional port and path. */
export const KAS_ADDRESS = /^(wss|grpcs):\/\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/;

/** Whether a string is a YYYY-MM-DD day of the calendar (2027-02-30 is not). */
export function isCalendarDate(date: string): boolean {
    const d = new Date(`${date}T00:00:00Z`);
    return /^\d{4}-\d{2}-\d{2}$/.test(date) && !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === date;
}

/** The name part of a label key, and a label value's form: apimachinery's `qualifiedNameFmt` (pkg/util/validation). */
export const QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
/** A label key's optional prefix: apimachinery's `dns1123SubdomainFmt`. */
export const DNS_1123_SUBDOMAIN_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

/** A label key: an optional DNS-subdomain prefix (at most 253) and `/`, then a name of at most 63 characters (IsQualifiedName). */
export const LABEL_KEY = new RegExp(`^(?:(?=[^/]{1,253}/)${DNS_1123_SUBDOMAIN_FMT}/)?(?=[^/]{1,63}$)${QUALIFIED_NAME_FMT}$`);

/** A label value: empty, or a qualified name of at most 63 characters (IsValidLabelValue). */
export const LABEL_VALUE = new RegExp(`^(?:(?=.{1,63}$)${QUALIFIED_NAME_FMT})?$`);

/** A node taint as kubelet's `--register-with-taints` and k3s's `node-taint` take it: `key[=value]:Effect`. */
export const TAINT = new RegExp(
    `^${LABEL_KEY.source.slice(1, -1)}(?:=${LABEL_VALUE.source.slice(1, -1)})?:(?:NoSchedule|PreferNoSchedule|NoExecute)$`,
);
