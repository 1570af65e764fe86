// tjs.mjs: the Transformers.js peer of scripts/bench/sections/peers.sh.
// Embeds the images of a folder with CLIPVisionModelWithProjection
// (onnxruntime-node, CPU, every core) in batches, the way a Transformers.js
// user would: RawImage.read (sharp) + the CLIP image processor, the next
// batch decoded while the model runs the current one. Prints one JSON line.
//
//   node tjs.mjs --model DIR --dir IMAGES [--batch 16] [--files N] [--label L]
//
// The clock starts after the model and processor are loaded and stops when
// the last embedding is out; it includes reading, decoding, preprocessing
// and the model.
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { cpus, loadavg } from "node:os";
import { AutoProcessor, CLIPVisionModelWithProjection, RawImage, env } from "@huggingface/transformers";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith("--") ? [...a, [v.slice(2), all[i + 1]]] : a), []),
);
const modelDir = args.model;
const dir = args.dir;
const batch = Number(args.batch ?? 16);
if (!modelDir || !dir) {
  console.error("usage: node tjs.mjs --model DIR --dir IMAGES [--batch 16] [--files N] [--label L]");
  process.exit(2);
}
let files = readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().map((f) => join(dir, f));
if (args.files) files = files.slice(0, Number(args.files));

env.allowRemoteModels = false;
env.localModelPath = dirname(modelDir) + "/";
const id = basename(modelDir);
const processor = await AutoProcessor.from_pretrained(id);
const model = await CLIPVisionModelWithProjection.from_pretrained(id, { dtype: "fp32", device: "cpu" });

async function prepare(paths) {
  const images = await Promise.all(paths.map((p) => RawImage.read(p)));
  return processor(images);
}

// Warm up on one image (first-run allocations), not timed.
await model(await prepare(files.slice(0, 1)));

const loadBegin = loadavg()[0];
const t0 = process.hrtime.bigint();
let n = 0;
let next = prepare(files.slice(0, batch));
for (let i = 0; i < files.length; i += batch) {
  const inputs = await next;
  if (i + batch < files.length) next = prepare(files.slice(i + batch, i + 2 * batch));
  const out = await model(inputs);
  n += out.image_embeds.dims[0];
}
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const pkg = (name) => JSON.parse(readFileSync(new URL("package.json", new URL(`node_modules/${name}/`, import.meta.url)), "utf8")).version;
console.log(JSON.stringify({
  kind: "peer", peer: "transformers.js", data: args.label ?? basename(dir), batch, images: n, seconds: secs,
  images_per_sec: n / secs, load_begin: loadBegin, load_end: loadavg()[0], cores: cpus().length,
  version: `@huggingface/transformers ${pkg("@huggingface/transformers")}, onnxruntime-node ${pkg("onnxruntime-node")}, sharp ${pkg("sharp")}, node ${process.version}`,
}));
