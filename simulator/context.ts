import { CallbackCatcher } from './callbacks';
import { FaultInjector } from './faults';
import { InboundReplies } from './inbound';
import { NewRecord, Recorder, SimulatorRecord } from './recorder';
import { DeliveryReporter } from './reports';
import { SnsSigner } from './sns-signing';
import { Stats } from './stats';

/** State shared by the HTTP and SMTP sides of one simulator instance. */
export interface SimulatorContext {
  recorder: Recorder;
  faults: FaultInjector;
  stats: Stats;
  /** The delivery reports posted to the status callbacks messages name. */
  reports: DeliveryReporter;
  /** Signs the SES and Pinpoint SMS events posted as SNS notifications, with a certificate made at start. */
  sns: SnsSigner;
  /** The status callbacks the service posted to `POST /callbacks[/:name]`. */
  callbacks: CallbackCatcher;
  /** The customers' WhatsApp answers posted to the service's inbound webhook (`POST /whatsapp/reply`). */
  inbound: InboundReplies;
  /** Records an accepted message and counts it. */
  accept(record: NewRecord): SimulatorRecord;
}

/** `reportHosts`: hosts besides loopback that delivery reports may be posted to. */
export function createContext(maxRecords: number, reportHosts: readonly string[] = []): SimulatorContext {
  const recorder = new Recorder(maxRecords);
  const stats = new Stats();
  const reports = new DeliveryReporter(reportHosts);
  return {
    recorder,
    faults: new FaultInjector(),
    stats,
    reports,
    sns: new SnsSigner(),
    callbacks: new CallbackCatcher(),
    inbound: new InboundReplies((url) => reports.refusalOf(url)),
    accept(record) {
      stats.accepted += 1;
      return recorder.add(record);
    },
  };
}
