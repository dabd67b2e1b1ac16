export interface StatsSnapshot {
  /** Requests received per provider (SMTP counts one per MAIL FROM), whatever their outcome. */
  requests: Record<string, number>;
  /** Messages accepted and recorded. */
  accepted: number;
  /** Requests refused for the client's fault: auth, validation, or a rejected address. */
  rejected: number;
  /** Requests failed or dropped by an injected fault. */
  failedByFault: number;
  /** OAuth access tokens issued (FCM's, Infobip's). */
  tokensIssued: number;
}

export class Stats {
  private requests = new Map<string, number>();
  accepted = 0;
  rejected = 0;
  failedByFault = 0;
  tokensIssued = 0;

  request(provider: string): void {
    this.requests.set(provider, (this.requests.get(provider) ?? 0) + 1);
  }

  snapshot(): StatsSnapshot {
    return {
      requests: Object.fromEntries(this.requests),
      accepted: this.accepted,
      rejected: this.rejected,
      failedByFault: this.failedByFault,
      tokensIssued: this.tokensIssued,
    };
  }

  reset(): void {
    this.requests.clear();
    this.accepted = 0;
    this.rejected = 0;
    this.failedByFault = 0;
    this.tokensIssued = 0;
  }
}
