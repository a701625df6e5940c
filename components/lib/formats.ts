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
