// The seed's labelling convention, in one place: every object carries `app`, `client` and `env`,
// and an object's name equals its `app` label.
export interface Labels {
    app: string;
    client: string;
    env: string;
    [key: string]: string;
}

export function labels(app: string, client: string, env: string): Labels {
    return { app, client, env };
}
