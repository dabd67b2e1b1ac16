import { startSimulator } from './index';

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    console.error(`${name} must be a port number, got ${raw}`);
    process.exit(1);
  }
  return value;
}

async function main(): Promise<void> {
  const simulator = await startSimulator({
    host: process.env.SIMULATOR_HOST || undefined,
    httpPort: port('SIMULATOR_HTTP_PORT', 4010),
    smtpPort: port('SIMULATOR_SMTP_PORT', 2525),
    reportHosts: (process.env.SIMULATOR_REPORT_HOSTS ?? '')
      .split(',')
      .map((host) => host.trim())
      .filter(Boolean),
  });
  console.log(`provider simulator: http ${simulator.httpUrl}  smtp ${simulator.smtpUrl}  inbox ${simulator.httpUrl}/`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    simulator.close().then(
      () => process.exit(0),
      (err) => {
        console.error(`provider simulator: error while closing on ${signal}:`, err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  console.error('provider simulator failed to start:', err);
  process.exit(1);
});
