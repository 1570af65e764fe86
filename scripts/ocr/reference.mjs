// reference.mjs SET OUT: run the reference pipeline, @gutenye/ocr-node, on
// every image of SET/manifest.jsonl and write one JSON object per
// image to OUT: {"file": <base name>, "ms": <milliseconds>, "lines":
// [{"text", "mean", "box"}]}. Boxes are as the package returns them, in the
// coordinates of its detection input. scripts/ocr/reference.sh runs it.
import fs from 'node:fs'
import path from 'node:path'
import Ocr from '@gutenye/ocr-node'

const [set, out] = process.argv.slice(2)
const files = fs
  .readFileSync(path.join(set, 'manifest.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => path.join(set, JSON.parse(l).file))
const ocr = await Ocr.create()
await ocr.detect(files[0]) // warm-up
const rows = []
for (const f of files) {
  const t0 = process.hrtime.bigint()
  const lines = await ocr.detect(f)
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  rows.push(JSON.stringify({ file: path.basename(f), ms, lines }))
}
fs.writeFileSync(out, rows.join('\n') + '\n')
