// Writes a .gz beside every text file of the build (served to clients that accept
// gzip: kronos-api's ServeDir picks them), and prints the sizes.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';

const root = process.argv[2] ?? 'dist';
const text = /\.(html|js|css|svg|json|txt|map)$/;
let raw = 0;
let packed = 0;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (text.test(name)) {
      const body = readFileSync(path);
      const gz = gzipSync(body, { level: constants.Z_BEST_COMPRESSION });
      writeFileSync(`${path}.gz`, gz);
      raw += body.length;
      packed += gz.length;
    }
  }
}
walk(root);
console.log(`precompressed ${root}: ${(raw / 1024).toFixed(1)} kB -> ${(packed / 1024).toFixed(1)} kB gzipped`);
