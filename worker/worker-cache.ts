import type { WorkerOptions } from '@temporalio/worker';
import type { AppConfig } from '../common/config/config';

/** The worker's workflow cache as configured (`worker.maxCachedWorkflows`); nothing when unset: the SDK's figure. */
export function workflowCacheOptions(
  worker: AppConfig['service']['worker'],
): Pick<WorkerOptions, 'maxCachedWorkflows'> {
  return worker.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: worker.maxCachedWorkflows };
}
