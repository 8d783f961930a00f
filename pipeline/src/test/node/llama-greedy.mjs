// Greedy decoding, teacher-forced next-token choices and tokenization with llama.cpp as npm's node-llama-cpp ships
// it (prebuilt CPU binaries, offline). GgufLlamaCppTest runs it; it prints one JSON object on stdout.
//
//   node llama-greedy.mjs SPEC.json
//
// SPEC: {"lib": DIR, "cases": [{"name": N, "model": M.gguf, "lora": A.gguf (optional), "n": 64,
//        "prompt": [ids] (default: the model's BOS), "forced": [ids] (optional), "tokenize": [texts] (optional)}]}
//   lib:      the directory holding node_modules/node-llama-cpp (bin/install-node-llama-cpp installs it there)
//   n:        greedy (temperature 0) tokens to generate after the prompt; stops after EOS, as LakeLoRA's generate
//   forced:   after the prompt, feed these ids and report llama.cpp's top token before each one and the logit gap
//             between that top token and the forced id (0 where they agree)
//   tokenize: llama.cpp's ids of each text (no BOS)
// Output: {"cases": {N: {"bos", "eos", "greedy": [ids], "forcedTop": [ids], "forcedGap": [gaps], "tokenize": {}}}}
import {readFileSync} from "node:fs";
import {createRequire} from "node:module";
import {join} from "node:path";
import {pathToFileURL} from "node:url";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const entry = createRequire(join(spec.lib, "package.json")).resolve("node-llama-cpp");
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(entry).href);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false});

async function run(c) {
    const model = await llama.loadModel({modelPath: c.model});
    const prompt = c.prompt ?? [model.tokens.bos];
    const n = c.n ?? 0;
    const forced = c.forced ?? [];
    const contextSize = prompt.length + Math.max(n, forced.length) + 8;
    const options = {contextSize, sequences: 1, threads: 1, batchSize: contextSize};
    if (c.lora) options.lora = {adapters: [{filePath: c.lora}]};
    const context = await model.createContext(options);
    const out = {bos: model.tokens.bos, eos: model.tokens.eos, greedy: [], forcedTop: [], forcedGap: [], tokenize: {}};
    const sequence = context.getSequence();
    if (n > 0) {
        for await (const token of sequence.evaluate(prompt, {temperature: 0})) {
            out.greedy.push(token);
            if (out.greedy.length >= n || token === model.tokens.eos) break;
        }
    }
    if (forced.length > 0) {
        await sequence.clearHistory();
        const all = [...prompt, ...forced];
        const items = all.map((t, i) =>
            i >= prompt.length - 1 && i < all.length - 1 ? [t, {generateNext: {logits: true}}] : t);
        const results = await sequence.controlledEvaluate(items);
        for (let i = prompt.length - 1; i < all.length - 1; i++) {
            const logits = results[i].next.logits; // Map<token, logit>
            let top = -1, best = -Infinity;
            for (const [t, l] of logits) if (l > best || (l === best && t < top)) { best = l; top = t; }
            out.forcedTop.push(top);
            out.forcedGap.push(best - (logits.get(all[i + 1]) ?? -Infinity));
        }
    }
    for (const text of c.tokenize ?? []) out.tokenize[text] = model.tokenize(text);
    await context.dispose();
    await model.dispose();
    return out;
}

const cases = {};
for (const c of spec.cases) cases[c.name] = await run(c);
console.log(JSON.stringify({cases}));
await llama.dispose();
