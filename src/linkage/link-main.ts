// Stand-alone runner for the link command: node src/linkage/link-main.ts link --input ...

import { Command } from 'commander';
import { registerLinkCommand } from './cli.ts';

const program = new Command('joinery');
registerLinkCommand(program);
await program.parseAsync(process.argv);
