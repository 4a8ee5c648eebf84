// Regenerates the typed @solana/kit client in ts/generated/ from the committed IDL
// (idl/solvent.json) with Codama. `npm run generate`; the output is committed.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createFromRoot } from 'codama';
import { rootNodeFromAnchor } from '@codama/nodes-from-anchor';
import { renderVisitor } from '@codama/renderers-js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const idl = JSON.parse(readFileSync(here('../../idl/solvent.json'), 'utf8'));
// Events are left to @anchor-lang/core's EventParser (see ts/src/index.ts): this renderer
// version cannot render Codama's event nodes.
idl.events = [];
const codama = createFromRoot(rootNodeFromAnchor(idl));
await codama.accept(
  renderVisitor(here('..'), { generatedFolder: 'generated', syncPackageJson: false, deleteFolderBeforeRendering: true, formatCode: true }),
);
console.log('generated ts/generated from idl/solvent.json');
