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

/** A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters (apimachinery IsQualifiedName). */
export const LABEL_KEY =
    /^(?:(?=[^/]{1,253}\/)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?(?=[^/]{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** A label value: empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending alphanumeric (apimachinery IsValidLabelValue). */
export const LABEL_VALUE = /^(?:(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** A node taint as kubelet's `--register-with-taints` and k3s's `node-taint` take it: `key[=value]:Effect`. */
export const TAINT = new RegExp(
    `^${LABEL_KEY.source.slice(1, -1)}(?:=${LABEL_VALUE.source.slice(1, -1)})?:(?:NoSchedule|PreferNoSchedule|NoExecute)$`,
);
