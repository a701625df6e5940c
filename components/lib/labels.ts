// The seed's labelling convention, in one place: every object carries `app`, `client` and `env`,
// and an object's name equals its `app` label.
export interface Labels {
    app: string;
    client: string;
    env: string;
    [key: string]: string;
}

/** What every component that labels objects is told: the `client` and `env` label values. */
export interface LabelArgs {
    /** Environment (`dev`, `stg`, `prod`, `local`): the `env` label. */
    environment: string;
    /** The `client` label. */
    client: string;
}

export function labels(app: string, { client, environment }: LabelArgs): Labels {
    return { app, client, env: environment };
}
