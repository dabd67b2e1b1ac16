import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FAILURE_CONVERTER_PATH } from '../common/temporal/data-converter';

/**
 * Bundles the workflows once, ahead of the worker (`WORKFLOW_BUNDLE_PATH`, docs/operations.md "Deploy"): a worker that
 * bundles them at start loads webpack and keeps the memory of the compilation for its whole life. The bundle carries
 * the worker's failure converter itself, as a prebuilt bundle must.
 */
export async function writeWorkflowBundle(outputPath: string): Promise<void> {
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  mkdirSync(path.dirname(outputPath), { recursive: true });
  writeFileSync(outputPath, bundle.code);
}

// `npm run build` writes dist/workflow-bundle.js with this module run as a script.
if (require.main === module) {
  const outputPath = process.argv[2];
  if (!outputPath) throw new Error('usage: workflow-bundle.js <output path>');
  writeWorkflowBundle(path.resolve(outputPath)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
