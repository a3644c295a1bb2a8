#!/usr/bin/env node
// The CLI runs the compiled library (built by `npm install` / `npm run build`).
const path = require('path');
const fs = require('fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error('splitz: dist/cli.js is missing. Run `npm run build` (or `npm ci`, which builds) in ' + path.dirname(__dirname));
  process.exit(1);
}
require(cli).main(process.argv.slice(2));
