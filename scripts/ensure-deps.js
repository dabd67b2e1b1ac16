// Runs before `npm run dev` and `npm test`: installs npm packages when node_modules is missing or older than
// the lockfile, and builds the Temporal CLI and FerretDB when they are missing. Plain JS: it must run before
// any dependency (tsx included) exists.
const { execFileSync } = require('node:child_process');
const { existsSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const marker = path.join(root, 'node_modules', '.package-lock.json');
const lock = path.join(root, 'package-lock.json');
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.log('ensure-deps: installing npm packages (npm ci)...');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
execFileSync('bash', [path.join(root, 'scripts', 'install-tools.sh')], { cwd: root, stdio: 'inherit' });
