import type { AddressInfo } from 'node:net';
import { createContext } from './context';
import { buildHttpServer } from './http/simulator-server';
import { createSmtpServer } from './smtp-stand-in';

export type { RecordedAttachment, SimulatorChannel, SimulatorProvider, SimulatorRecord } from './recorder';
export type { FaultSpec, FaultTarget, TargetFaultsView } from './faults';
export type { StatsSnapshot } from './stats';
export type { ReportConfig, ReportRecord } from './reports';
export type { CallbackFault, CaughtCallback } from './callbacks';
export type { InboundCall, InboundResult } from './inbound';

export interface SimulatorOptions {
  /** Interface to listen on for both servers. Default `127.0.0.1`. */
  host?: string;
  /** HTTP port; 0 (the default) picks a free port. */
  httpPort?: number;
  /** SMTP port; 0 (the default) picks a free port. */
  smtpPort?: number;
  /** Records kept in memory; the oldest are dropped beyond it. Default 500000. */
  maxRecords?: number;
  /** Hosts besides loopback that delivery reports may be posted to (`SIMULATOR_REPORT_HOSTS`). Default none. */
  reportHosts?: readonly string[];
}

export interface RunningSimulator {
  /** Base URL of every HTTP provider and the control API, e.g. `http://127.0.0.1:4010`. */
  httpUrl: string;
  /** SMTP URL, e.g. `smtp://127.0.0.1:2525`. */
  smtpUrl: string;
  httpPort: number;
  smtpPort: number;
  close(): Promise<void>;
}

// A wildcard bind address is not something a client can connect to.
function connectableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts the HTTP and SMTP sides of the provider simulator. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const host = options.host ?? '127.0.0.1';
  const ctx = createContext(options.maxRecords ?? 500_000, options.reportHosts);

  const http = buildHttpServer(ctx);
  await http.listen({ host, port: options.httpPort ?? 0 });
  const httpPort = (http.server.address() as AddressInfo).port;

  const smtp = createSmtpServer(ctx);
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      smtp.server.once('error', onError);
      smtp.listen(options.smtpPort ?? 0, host, () => {
        smtp.server.off('error', onError);
        resolve();
      });
    });
  } catch (err) {
    await http.close();
    throw err;
  }
  const smtpPort = (smtp.server.address() as AddressInfo).port;
  const urlHost = connectableHost(host);

  let closing: Promise<void> | undefined;
  return {
    httpUrl: `http://${urlHost}:${httpPort}`,
    smtpUrl: `smtp://${urlHost}:${smtpPort}`,
    httpPort,
    smtpPort,
    close() {
      closing ??= (async () => {
        // Pooled SMTP clients keep connections open; tell them to go rather than wait for closeTimeout.
        for (const connection of smtp.connections) connection.send(421, 'Server shutting down');
        ctx.reports.clear();
        await Promise.all([http.close(), new Promise<void>((resolve) => smtp.close(() => resolve()))]);
      })();
      return closing;
    },
  };
}
