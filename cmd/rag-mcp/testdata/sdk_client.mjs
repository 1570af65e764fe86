// sdk_client.mjs drives a real rag-mcp with the official TypeScript SDK
// (@modelcontextprotocol/sdk), the way an MCP client application does.
//
//   node sdk_client.mjs SDK_DIR stdio ROOT NEWDIR -- rag-mcp args...
//   node sdk_client.mjs SDK_DIR http  ROOT NEWDIR URL TOKEN
//
// SDK_DIR holds node_modules/@modelcontextprotocol/sdk (any version from
// 1.12.0 on). The client offers ROOT as its MCP root (the server is started
// without --root), indexes NEWDIR with progress, and checks every tool, a
// resource, logging, completion and the not-found error. It prints one JSON
// line describing what it saw and exits 1 on the first failed check.
import path from "node:path";
import { pathToFileURL } from "node:url";

const [sdkDir, mode, root, newDir, ...rest] = process.argv.slice(2);
const sdk = (p) => import(pathToFileURL(path.join(sdkDir, "node_modules/@modelcontextprotocol/sdk/dist/esm", p)).href);
const { Client } = await sdk("client/index.js");
const types = await sdk("types.js");

function check(ok, what, detail) {
  if (!ok) {
    console.error(`FAIL: ${what}${detail === undefined ? "" : ": " + JSON.stringify(detail).slice(0, 2000)}`);
    process.exit(1);
  }
}

const client = new Client({ name: "cliprag-sdk-test", version: "1" }, { capabilities: { roots: { listChanged: true } } });
let roots = [root];
client.setRequestHandler(types.ListRootsRequestSchema, async () => ({
  roots: roots.map((r) => ({ uri: pathToFileURL(r).href, name: path.basename(r) })),
}));
client.onerror = (e) => console.error("client error:", e?.message ?? e);
const logs = [];
client.setNotificationHandler(types.LoggingMessageNotificationSchema, (n) => { logs.push(n.params); });

let transport;
if (mode === "stdio") {
  const { StdioClientTransport } = await sdk("client/stdio.js");
  const args = rest[0] === "--" ? rest.slice(1) : rest;
  transport = new StdioClientTransport({ command: args[0], args: args.slice(1), env: process.env, stderr: "inherit" });
} else {
  const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
  const [url, token] = rest;
  transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
}
await client.connect(transport);
const version = transport.protocolVersion ?? client._negotiatedProtocolVersion ?? "";
const modern = !types.LATEST_PROTOCOL_VERSION.startsWith("2025-03") && !types.LATEST_PROTOCOL_VERSION.startsWith("2024");
const seen = { sdk: types.LATEST_PROTOCOL_VERSION, mode, version };

const { tools } = await client.listTools();
seen.tools = tools.map((t) => t.name).sort();
check(seen.tools.join() === "classify_image,compare_images,find_similar_images,index_stats,ingest_images,read_image_text,search_images", "tools", seen.tools);

const call = async (name, args, extra) => {
  const res = await client.callTool({ name, arguments: args }, undefined, extra);
  return res;
};

const search = await call("search_images", { query: "a photo of a red circle", top_k: 3 });
check(!search.isError, "search_images", search.content);
const kinds = search.content.map((c) => c.type);
seen.searchContent = kinds;
check(kinds.filter((k) => k === "image").length === 3, "three thumbnails", kinds);
check(kinds.filter((k) => k === "resource_link").length === (modern ? 3 : 0), "resource links for this protocol version", kinds);
const hits = search.structuredContent?.hits ?? JSON.parse(search.content.filter((c) => c.type === "text").at(-1).text).hits;
check(hits.length === 3 && path.basename(hits[0].path).startsWith("red-circle"), "top hit", hits.map((h) => h.path));
const top = hits[0];

const similar = await call("find_similar_images", { image: top.path, top_k: 3 });
check(!similar.isError, "find_similar_images with a path string", similar.content);
const simHits = similar.structuredContent.hits;
check(simHits.every((h) => h.id !== top.id), "the example is left out", simHits);

const classify = await call("classify_image", { image: top.id, labels: ["red circle", "blue square", "green triangle"] });
check(!classify.isError && classify.structuredContent.labels[0].label === "red circle", "classify_image with an id", classify.structuredContent);

const compare = await call("compare_images", { a: top.uri, b: top.path });
check(!compare.isError && compare.structuredContent.cosine > 0.999, "compare_images with an image:// URI and a path", compare.structuredContent);

const bad = await call("find_similar_images", { image: { path: top.path } });
check(bad.isError && /the argument "image" must be a string/.test(bad.content[0].text), "an object image argument is refused in words", bad.content);

const stats = await call("index_stats", {});
check(!stats.isError && stats.structuredContent.roots.length === 1 && stats.structuredContent.roots[0] === root, "the client's root is the server's", stats.structuredContent.roots);

const read = await client.readResource({ uri: top.uri });
const link = search.content.find((c) => c.type === "resource_link");
check(read.contents[0].mimeType === (link?.mimeType ?? read.contents[0].mimeType) && read.contents[0].blob.length > 100, "resources/read", read.contents[0].mimeType);
let code;
try {
  await client.readResource({ uri: "image://00000000-0000-5000-8000-000000000000" });
} catch (e) {
  code = e.code;
}
check(code === -32002, "an unknown image is resource-not-found (-32002)", code);

await client.setLoggingLevel("info");
await call("search_images", { query: "x", top_k: 0 });
for (let i = 0; i < 50 && logs.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
check(logs.some((l) => l.level === "info" && l.data?.message === "bad arguments"), "a log message at info", logs);

const progress = [];
const ingest = await call("ingest_images", { paths: [newDir] }, { onprogress: (p) => progress.push(p) });
check(!ingest.isError && ingest.structuredContent.indexed >= 1, "ingest_images", ingest.content);
check(progress.length >= 1 && progress.at(-1).progress === progress.at(-1).total, "progress notifications", progress);
seen.progress = progress.length;

const done = await client.complete({ ref: { type: "ref/resource", uri: "image://{id}" }, argument: { name: "id", value: top.id.slice(0, 5) } });
check(done.completion.values.includes(top.id), "completion of image ids", done.completion);

// New roots: the server reads them again after roots/list_changed.
roots = [newDir];
await client.sendRootsListChanged();
const stats2 = await call("index_stats", {});
check(stats2.structuredContent.roots.join() === newDir, "roots read again after roots/list_changed", stats2.structuredContent.roots);

if (mode === "http" && typeof transport.terminateSession === "function") {
  await transport.terminateSession();
  seen.terminated = true;
}
await client.close();
seen.logs = logs.length;
console.log(JSON.stringify(seen));
