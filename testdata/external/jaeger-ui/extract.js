// Extracts the data of Jaeger UI's critical-path test cases (testCases/testN.js: a trace in Jaeger's
// classic JSON and the criticalPathSections Jaeger UI's own test expects) into plain JSON, so dbg's
// corpus test can compare its critical path with Jaeger UI's expectation without running JavaScript.
// Usage (from this directory): node extract.js JAEGER_UI_CHECKOUT
// Only the data is kept: the import of transformTraceData is replaced by the identity, and JSON traces a
// case imports are read from the checkout.
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const root = process.argv[2];
const dir = path.join(root, 'packages/jaeger-ui/src/components/TracePage/CriticalPath/testCases');
for (let i = 1; i <= 9; i++) {
  let src = fs.readFileSync(path.join(dir, `test${i}.js`), 'utf8');
  src = src.replace(/^import transformTraceData .*$/m, 'const transformTraceData = t => ({ asOtelTrace: () => t });');
  src = src.replace(/^import (\w+) from '([^']+\.json)';$/m, (_, name, rel) =>
    `const ${name} = ${fs.readFileSync(path.join(dir, rel), 'utf8')};`);
  src = src.replace(/^export default (\w+);$/m, 'module.exports = $1;');
  const mod = { exports: {} };
  vm.runInNewContext(src, { module: mod });
  const out = { trace: mod.exports.trace, criticalPathSections: mod.exports.criticalPathSections };
  fs.writeFileSync(path.join(__dirname, `critical-path-test${i}.json`), JSON.stringify(out, null, 1) + '\n');
}
