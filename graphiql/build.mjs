// `make graphiql`: the bundle of entry.js and Monaco's three workers, minified, into
// api/static/graphiql/, with LICENSES.txt: the licence of every npm package that any of them
// holds code of (run from this directory after `npm ci`).
import { build } from "esbuild";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const out = process.argv[2];
const common = {
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  legalComments: "none", // the licences are shipped whole, in LICENSES.txt
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
  metafile: true,
};
const builds = [
  await build({
    ...common,
    entryPoints: { graphiql: "entry.js" },
    outdir: out,
    entryNames: "[name].bundle",
    assetNames: "[name]",
    loader: { ".ttf": "file", ".woff": "file", ".woff2": "file", ".svg": "dataurl" },
  }),
  await build({
    ...common,
    entryPoints: {
      "editor.worker": "monaco-editor/esm/vs/editor/editor.worker.js",
      "json.worker": "monaco-editor/esm/vs/language/json/json.worker.js",
      "graphql.worker": "monaco-graphql/esm/graphql.worker.js",
    },
    outdir: out,
  }),
];

// Every package with a file in a bundle: its name, version, licence and licence text.
const packages = new Map();
for (const result of builds) {
  for (const input of Object.keys(result.metafile.inputs)) {
    const match = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(input);
    if (match) packages.set(match[2], match[1]);
  }
}
const sections = [];
for (const [name, dir] of [...packages].sort(([a], [b]) => a.localeCompare(b))) {
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  const text = file ? readFileSync(join(dir, file), "utf8").trim() : `License: ${manifest.license}`;
  sections.push(`${name} ${manifest.version} (${manifest.license})\n\n${text}\n`);
}
writeFileSync(
  join(out, "LICENSES.txt"),
  "The npm packages bundled in graphiql.bundle.js, graphiql.bundle.css and the *.worker.js files,\n" +
    "with their licences.\n\n" +
    sections.join(`\n${"=".repeat(78)}\n\n`),
);
writeFileSync(
  join(out, "VERSIONS"),
  [...packages.keys()]
    .sort()
    .map((name) => `${name} ${JSON.parse(readFileSync(join(packages.get(name), "package.json"), "utf8")).version}`)
    .join("\n") + "\n",
);
