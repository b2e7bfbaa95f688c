// Other roads to ollama.com and beyond (issue: "No other road to ollama.com"), and model
// allow-lists over every model reference (issue: "allow-lists cover every model reference").
// Ollama v0.33 calls out on a client's behalf for built-in server tools on /v1/messages and
// /v1/responses (web search on ollama.com, signed with the owner's key) and for /api/create's
// `remote_host` (a local alias forwarding every chat to that host). Its Go decoder matches body
// keys in any letter case, so every spelling must be refused. /api/create's `files`, `adapters`
// and `draft_files` name blobs that no model pattern can match: a key limited to some models must
// not build a model from the weights of another. Real server, fake Ollama recording what arrives.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { withWarden, type RunningWarden } from '../helpers/warden.ts';
import { createKeyViaCli, sendThrough, type Passage } from './helpers.ts';

let limited: string;
const stack = withWarden({
  ollama: { chunks: 1, delayMs: 0 },
  // the same server with policy.allowServerTools and policy.allowRemoteModels
  also: { open: { env: { WARDEN_POLICY_ALLOW_SERVER_TOOLS: 'true', WARDEN_POLICY_ALLOW_REMOTE_MODELS: 'true' } } },
  afterStart: async ({ w }) => {
    limited = (await createKeyViaCli(w, ['--name', 'mine', '--scope', 'models:manage', '--scope', 'inference', '--model', 'mine-*', '--model', 'llama3.*'])).key;
  },
});

const send = (server: RunningWarden, path: string, body: string, key = server.adminKey): Promise<Passage> => sendThrough(server, stack.fake, path, body, key);

const msg = '"messages":[{"role":"user","content":"what happened today?"}]';
const SERVER_TOOLS: Array<[path: string, body: string]> = [
  ['/v1/messages', `{"model":"llama3.2","max_tokens":100,${msg},"tools":[{"type":"web_search_20250305","name":"web_search"}]}`],
  ['/v1/messages', `{"model":"llama3.2","max_tokens":100,${msg},"tools":[{"type":" web_search_20250305\\u0085","name":"web_search"}]}`],
  ['/v1/messages', `{"model":"llama3.2","max_tokens":100,${msg},"tools":[{"TYPE":"web_search_20250305","name":"web_search"}]}`],
  ['/v1/messages', `{"model":"llama3.2","max_tokens":100,${msg},"tools":[{"type":"custom","Type":"web_search_20250305","name":"x"}]}`],
  ['/v1/messages', `{"model":"llama3.2","max_tokens":100,${msg},"Tools":[{"type":"web_search_20250305"}]}`],
  ['/v1/messages', `{"model":"llama3.2","max_tokens":100,${msg},"tools":[{"\u212Aind":1,"ty\u017Fpe":"x","type":"web_fetch_20250910"}]}`],
  ['/v1/messages', `{"model":"llama3.2","max_tokens":100,${msg},"tools":[{"name":"get_weather","input_schema":{}},{"type":"web_search_20250305"}]}`],
  ['/v1/responses', `{"model":"llama3.2","input":"news?","tools":[{"type":"web_search"}]}`],
  ['/v1/responses', `{"model":"llama3.2","input":"news?","tools":[{"type":"WEB_SEARCH"}]}`],
  ['/v1/responses', `{"model":"llama3.2","input":"news?","tools":[{"type":"namespace","name":"ns","tools":[{"type":"web_search"}]}]}`],
  ['/v1/responses', `{"model":"llama3.2","input":"news?","TOOLS":[{"tYpE":"web_search"}]}`],
];

describe('built-in server tools (web search on ollama.com) are refused unless policy.allowServerTools', () => {
  for (const [path, body] of SERVER_TOOLS) {
    it(`${path} ${body.slice(body.indexOf('ools'), body.indexOf('ools') + 60)}`, async () => {
      const r = await send(stack.w, path, body);
      assert.equal(r.status, 403, r.text);
      assert.match(r.text, /allowServerTools/);
      assert.equal(r.reached, false, 'the request reached Ollama');
    });
  }

  it('client-side (function) tools are still forwarded', async () => {
    const r = await send(stack.w, '/v1/messages', `{"model":"llama3.2","max_tokens":100,${msg},"tools":[{"name":"get_weather","description":"weather","input_schema":{"type":"object"}}]}`);
    assert.equal(r.reached, true, `${r.status} ${r.text}`);
    const r2 = await send(stack.w, '/v1/responses', '{"model":"llama3.2","input":"hi","tools":[{"type":"function","name":"web_searcher","parameters":{}}]}');
    assert.equal(r2.reached, true, `${r2.status} ${r2.text}`);
  });

  it('with policy.allowServerTools the owner has opted in and the request is forwarded', async () => {
    const r = await send(stack.also.open, '/v1/messages', SERVER_TOOLS[0]![1]);
    assert.equal(r.reached, true, `${r.status} ${r.text}`);
  });
});

describe('/api/create remote_host is refused unless policy.allowRemoteModels', () => {
  for (const body of [
    '{"model":"alias","from":"gpt-oss:120b","remote_host":"https://ollama.com:443"}',
    '{"model":"alias","from":"llama3.2","remote_host":"http://169.254.169.254"}',
    '{"model":"alias","from":"llama3.2","REMOTE_HOST":"https://ollama.com"}',
    '{"model":"alias","from":"llama3.2","Remote_Host":" "}',
    '{"model":"alias","from":"llama3.2","remote_host":""," remote_host":"x","remote_hosT":"https://evil.example"}',
  ]) {
    it(body, async () => {
      const r = await send(stack.w, '/api/create', body);
      // 403 from the policy, or 400 when two keys fold to one name (Go would take the last)
      assert.ok(r.status === 403 || r.status === 400, `${r.status} ${r.text}`);
      if (r.status === 403) assert.match(r.text, /allowRemoteModels/);
      assert.equal(r.reached, false, 'the request reached Ollama');
    });
  }

  it('with policy.allowRemoteModels it is forwarded', async () => {
    const r = await send(stack.also.open, '/api/create', '{"model":"alias","from":"llama3.2","remote_host":"https://ollama.example","stream":false}');
    assert.equal(r.reached, true, `${r.status} ${r.text}`);
  });
});

describe('a key limited to some models cannot create from blobs or reach other models through /api/create and /api/copy', () => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  for (const body of [
    `{"model":"mine-x","files":{"model.gguf":"${digest}"}}`,
    `{"model":"mine-x","from":"mine-base","adapters":{"lora.gguf":"${digest}"}}`,
    `{"model":"mine-x","from":"mine-base","draft_files":{"draft.gguf":"${digest}"}}`,
    `{"model":"mine-x","FILES":{"model.gguf":"${digest}"}}`,
    `{"model":"mine-x","Adapters":{"lora.gguf":"${digest}"}}`,
    '{"model":"mine-x","from":"secret"}',
    '{"model":"mine-x","from":"secret:latest:local"}',
    '{"model":"mine-x","name":"secret"}',
  ]) {
    it(body, async () => {
      const r = await send(stack.w, '/api/create', body, limited);
      assert.equal(r.status, 403, r.text);
      assert.equal(r.reached, false, 'the request reached Ollama');
    });
  }

  it('/api/copy checks both ends', async () => {
    for (const body of ['{"source":"secret","destination":"mine-y"}', '{"source":"mine-a","destination":"secret"}', '{"source":"mine-a","destination":"mine-b","Source":"secret"}']) {
      const r = await send(stack.w, '/api/copy', body, limited);
      assert.ok(r.status === 400 || r.status === 403, `${body}: ${r.status} ${r.text}`);
      assert.equal(r.reached, false, `${body} reached Ollama`);
    }
  });

  it('creating from a model it may use is still forwarded, and a key without patterns may use blobs', async () => {
    const r = await send(stack.w, '/api/create', '{"model":"mine-x","from":"llama3.2","stream":false}', limited);
    assert.equal(r.reached, true, `${r.status} ${r.text}`);
    const r2 = await send(stack.w, '/api/create', `{"model":"mine-y","files":{"model.gguf":"${digest}"},"stream":false}`);
    assert.equal(r2.reached, true, `${r2.status} ${r2.text}`);
  });
});
