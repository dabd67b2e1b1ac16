import { FaultInjector } from './faults';
import { NewRecord, Recorder, SimulatorRecord } from './recorder';
import { Stats } from './stats';

/** State shared by the HTTP and SMTP sides of one simulator instance. */
export interface SimulatorContext {
  recorder: Recorder;
  faults: FaultInjector;
  stats: Stats;
  /** Records an accepted message and counts it. */
  accept(record: NewRecord): SimulatorRecord;
}

export function createContext(maxRecords: number): SimulatorContext {
  const recorder = new Recorder(maxRecords);
  const stats = new Stats();
  return {
    recorder,
    faults: new FaultInjector(),
    stats,
    accept(record) {
      stats.accepted += 1;
      return recorder.add(record);
    },
  };
}
