// parseModelName against Ollama's own reading of names (internal/modelref ParseRef +
// types/model ParseName, v0.33): the canonical key, the cloud flag, and refusal of every name
// Ollama would read differently (trimmed spaces, characters it refuses).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseModelName, modelKey } from '../../src/policy/model-name.ts';

const readings: Array<[raw: string, key: string, cloud: boolean]> = [
  ['llama3', 'llama3:latest', false],
  ['Llama3.2', 'llama3.2:latest', false],
  ['LLAMA3.2:1B', 'llama3.2:1b', false],
  ['library/llama3:8b', 'llama3:8b', false],
  ['registry.ollama.ai/library/llama3', 'llama3:latest', false],
  ['REGISTRY.OLLAMA.AI/Library/Llama3:Latest', 'llama3:latest', false],
  ['https://registry.ollama.ai/library/llama3', 'llama3:latest', false],
  ['user/model', 'user/model:latest', false],
  ['registry.ollama.ai/user/model:q4', 'user/model:q4', false],
  ['hf.co/bartowski/Qwen2.5-7B-GGUF:Q4_K_M', 'hf.co/bartowski/qwen2.5-7b-gguf:q4_k_m', false],
  ['localhost:5000/ns/model', 'localhost:5000/ns/model:latest', false],
  ['http://localhost:5000/ns/model:v1', 'localhost:5000/ns/model:v1', false],
  ['llama3.2:local', 'llama3.2:latest', false],
  ['llama3.2:1b:LOCAL', 'llama3.2:1b', false],
  // cloud, every spelling Ollama accepts, one key per model
  ['gpt-oss:120b-cloud', 'gpt-oss:120b-cloud', true],
  ['gpt-oss:120b:cloud', 'gpt-oss:120b-cloud', true],
  ['GPT-OSS:120B-Cloud', 'gpt-oss:120b-cloud', true],
  ['gpt-oss:120b:CLOUD', 'gpt-oss:120b-cloud', true],
  ['qwen3:cloud', 'qwen3:cloud', true],
  ['library/qwen3:Cloud', 'qwen3:cloud', true],
  ['registry.ollama.ai/library/kimi-k2:1t-cloud', 'kimi-k2:1t-cloud', true],
  ['localhost:5000/ns/model:cloud', 'localhost:5000/ns/model:cloud', true],
  // Ollama runs these as local models; counted as cloud to over-refuse rather than under-refuse
  ['gpt-oss-cloud', 'gpt-oss-cloud:latest', true],
  // not cloud
  ['cloudy:7b', 'cloudy:7b', false],
  ['qwen3:8b-cloudy', 'qwen3:8b-cloudy', false],
  ['my-cloudmodel', 'my-cloudmodel:latest', false],
];

for (const [raw, key, cloud] of readings) {
  test(`parseModelName(${JSON.stringify(raw)}) → ${key}${cloud ? ' (cloud)' : ''}`, () => {
    const got = parseModelName(raw);
    assert.ok(got.ok, `refused: ${'reason' in got ? got.reason : ''}`);
    assert.equal(got.key, key);
    assert.equal(got.cloud, cloud);
    assert.equal(modelKey(raw), key);
  });
}

const refused: Array<[raw: unknown, why: string]> = [
  ['', 'empty'],
  [42, 'not a string'],
  ['a'.repeat(10_000), 'too long'],
  ['model:cloud:local', 'two source suffixes (Ollama: use either :local or :cloud)'],
  ['model:local:cloud', 'two source suffixes'],
  ['m:x-cloud:cloud', 'cloud under cloud'],
  ['localhost:5000/foo', 'host:port as a namespace'],
  ['-model', 'leading dash'],
  ['.model', 'leading dot'],
  ['model:', 'empty tag'],
  [':tag', 'empty model'],
  ['/model', 'empty namespace'],
  ['a/b/c/d', 'four parts'],
  ['ns.x/model', 'dot in namespace'],
  ['llama3@sha256:' + 'a'.repeat(64), 'digest form (invalid in Ollama)'],
  ['ftp://host/ns/model', 'a scheme other than http(s)'],
  ['model:' + 'a'.repeat(81), 'tag over 80'],
  ['m'.repeat(81), 'model over 80'],
  ['model:-cloud', 'empty base tag once -cloud is cut'],
  ['c++coder', 'plus sign'],
  ['llama3.2:latest/evil', 'slash after the tag'],
];
for (const [raw, why] of refused) {
  test(`parseModelName refuses ${why}`, () => {
    const got = parseModelName(raw);
    assert.equal(got.ok, false, JSON.stringify(got));
    assert.equal(modelKey(raw), null);
  });
}

// Go's unicode.IsSpace (what strings.TrimSpace strips), plus characters JavaScript's trim() strips
// that Go does not, and the controls and invisibles a name could hide.
const GO_SPACE = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000];
const OTHERS = [0x00, 0x1b, 0x7f, 0x80, 0x9b, 0x9f, 0xad, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x202e, 0x2060, 0xfeff, 0xff1a, 0xfe55];
const CONTROLS = Array.from({ length: 32 }, (_, i) => i);

test('every whitespace, control and invisible character, anywhere in a name, is refused (Go TrimSpace and JS trim differ)', () => {
  const names = ['gpt-oss:20b:cloud', 'gpt-oss:120b-cloud', 'llama3.2:latest', 'embeddinggemma:cloud'];
  let checked = 0;
  for (const cp of [...GO_SPACE, ...OTHERS, ...CONTROLS]) {
    const ch = String.fromCodePoint(cp);
    for (const name of names) {
      const colon = name.lastIndexOf(':');
      for (const variant of [ch + name, name + ch, `${name.slice(0, colon + 1)}${ch}${name.slice(colon + 1)}`, `${name.slice(0, colon)}${ch}${name.slice(colon)}`]) {
        const got = parseModelName(variant);
        assert.equal(got.ok, false, `U+${cp.toString(16).padStart(4, '0')} in ${JSON.stringify(variant)} was accepted`);
        checked++;
      }
    }
  }
  assert.ok(checked > 500);
});
