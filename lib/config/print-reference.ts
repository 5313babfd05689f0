// `node dist/lib/config/print-reference.js > part-of-README.md`: the config reference table.
import { renderConfigReference } from './reference.js';

process.stdout.write(renderConfigReference());
