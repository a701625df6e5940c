// Output shapes of the object types the exported resources use (names as in @pulumi/gitlab).

export interface ProjectAccessTokenRotationConfiguration {
    /** The duration (in days) the new token should be valid for. */
    expirationDays: number;
    /**
     * The duration (in days) before the expiration when the token should be rotated. The token rotates
     * only when `pulumi up` is run in that timeframe.
     */
    rotateBeforeDays: number;
}
