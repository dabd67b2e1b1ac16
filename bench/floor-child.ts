import { Client, Connection, WorkflowIdReusePolicy } from '@temporalio/client';
import { loadConfig } from '../providers/service-configuration';
import { temporalDataConverter } from '../common/temporal/data-converter';
import { connectDatabase } from '../common/store/db';
import { newSendId } from '../common/temporal/workflow-ids';
import { SEARCH_ATTRIBUTES } from '../common/temporal/search-attributes';
import type { SendDocument, SendRequest } from '../common/domain/send-types';
import type { SendMessageInput } from '../workflows/send-message';
import { percentiles } from './lib/small-send';
import { CHANNELS, EMPTY_CLUSTER } from './lib/workload';

/**
 * The floor of `POST /send` (`api-floor-ratio`): a bare client doing only what no send can avoid — insert the send
 * document, then `workflow.start` with the same input, options, search attributes, memo and encrypted payloads as
 * the API's — from `BENCH_FLOOR_CONNECTIONS` loops at once (autocannon's connections) for `BENCH_FLOOR_SECONDS`.
 * No HTTP, no validation, no rendering check, no provider choice. Its workflows go to a task queue no worker
 * polls (`BENCH_FLOOR_TASK_QUEUE`), as the API's wait in a queue with its worker stopped. Prints one JSON line.
 */

async function main(): Promise<void> {
  const config = loadConfig();
  const seconds = Number(process.env.BENCH_FLOOR_SECONDS ?? 5);
  const connections = Number(process.env.BENCH_FLOOR_CONNECTIONS ?? 10);
  const taskQueue = process.env.BENCH_FLOOR_TASK_QUEUE ?? 'bench-floor';
  const database = await connectDatabase(config, { ensureIndexes: false });
  const connection = await Connection.connect({ address: config.env.TEMPORAL_ADDRESS });
  const temporal = new Client({
    connection,
    namespace: config.env.TEMPORAL_NAMESPACE,
    dataConverter: temporalDataConverter(config.env),
  });
  // What the API stores for bench/lib/api-latency.ts LATENCY_BODY.
  const request: SendRequest = {
    channels: CHANNELS,
    recipients: [],
    clusters: [EMPTY_CLUSTER],
    messageTitle: 'Hello {{user.firstName}}',
    messageContent: 'Hi {{user.firstName}}',
    data: {},
    emailAttachments: [],
    emailCarbonCopies: [],
    emailBlindCarbonCopies: [],
  };
  const once = async (): Promise<number> => {
    const started = performance.now();
    const sendId = newSendId();
    const now = new Date();
    const document: SendDocument = {
      _id: sendId,
      workflowId: sendId,
      kind: 'send',
      request,
      status: 'running',
      createdAt: now,
      updatedAt: now,
    };
    await database.sends.insertOne(document);
    const input: SendMessageInput = {
      sendId,
      channels: request.channels,
      fanOut: config.service.fanOut,
      retry: config.service.dispatchRetry,
    };
    await temporal.workflow.start('sendMessage', {
      workflowId: sendId,
      taskQueue,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.channels, value: request.channels }],
      memo: { channels: request.channels, templateId: null, recipients: 0, clusters: 1, attachments: 0 },
      args: [input],
    });
    return performance.now() - started;
  };

  // Connections opened and code paths warmed, as the API's are by the time it is measured.
  await Promise.all(Array.from({ length: connections }, () => once()));
  const times: number[] = [];
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) times.push(await once());
    }),
  );
  await connection.close();
  await database.close();
  console.log(
    JSON.stringify({ ...percentiles(times), requestsPerSecond: Math.round((times.length / seconds) * 10) / 10 }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
