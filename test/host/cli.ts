// `npm run dev:testhost`: runs the test host by hand. Prints the URL; read commands from stdin:
//   open <path>          the next Open... dialog returns <path>
//   drop <name> <path>   a dropped file named <name> opens <path>
//   kill                 SIGKILL the engine host (to try the crash banner)
import { createInterface } from 'node:readline';
import { startTestHost } from './server';

async function main(): Promise<void> {
  const host = await startTestHost({ log: (l) => console.error(l) });
  console.log(`test host: ${host.url}`);
  console.log('commands: open <path> | drop <name> <path> | kill | quit');
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const [cmd, ...rest] = line.trim().split(/\s+/);
    if (cmd === 'open' && rest[0]) host.setNextDialogPath(rest.join(' '));
    else if (cmd === 'drop' && rest[0] && rest[1]) host.registerDrop(rest[0], rest.slice(1).join(' '));
    else if (cmd === 'kill' && host.engine.pid) process.kill(host.engine.pid, 'SIGKILL');
    else if (cmd === 'quit') void host.close().then(() => process.exit(0));
    else console.log('?');
  });
  process.on('SIGINT', () => void host.close().then(() => process.exit(0)));
}

void main();
