// Server-side request forgery through a model name ("any other field that makes Ollama
// reach out"). A model name carries the registry Ollama fetches it from: `host/namespace/model`.
// With /api/pull or /api/push Ollama (server/images.go) dials that host as written, over HTTPS
// (HTTP with `insecure`), signs the registry's token challenge with the owner's key and, for a
// push, uploads the model's blobs; /api/create pulls `from` when it lacks that model. So a key
// with models:manage could make the Ollama machine connect to 10.0.0.5:8080, to the cloud
// metadata address 169.254.169.254, to internal.corp — or push the owner's models there.
// Only hosts in policy.registries may be named (default: registry.ollama.ai, hf.co,
// huggingface.co). Real server, fake Ollama recording what reaches it: a refused request must
// never get there.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { withWarden, type RunningWarden } from '../helpers/warden.ts';
import { createKeyViaCli, sendThrough, type Passage, waitForAudit } from './helpers.ts';

let manage: string;
let manageOpen: string;
const stack = withWarden({
  ollama: { chunks: 1, delayMs: 0 },
  // the same server with policy.registries ["*"]
  also: { open: { env: { WARDEN_POLICY_REGISTRIES: '*' } } },
  afterStart: async ({ w, also: { open } }) => {
    [manage, manageOpen] = await Promise.all([
      createKeyViaCli(w, ['--name', 'manager', '--scope', 'models:manage']).then((k) => k.key),
      createKeyViaCli(open, ['--name', 'manager', '--scope', 'models:manage']).then((k) => k.key),
    ]);
  },
});

const send = (server: RunningWarden, key: string, path: string, body: string): Promise<Passage> => sendThrough(server, stack.fake, path, body, key);

/** [model name, the registry host Ollama would dial] */
const FOREIGN: Array<[string, string]> = [
  ['10.0.0.5:8080/ns/m', '10.0.0.5:8080'],
  ['10.0.0.5/ns/m:latest', '10.0.0.5'],
  ['192.168.1.1:443/ns/m', '192.168.1.1:443'],
  ['127.0.0.1:11434/ns/m', '127.0.0.1:11434'],
  ['localhost:6379/ns/m', 'localhost:6379'],
  ['0/ns/m', '0'],
  ['169.254.169.254/latest/meta-data', '169.254.169.254'],
  ['169.254.169.254:80/computeMetadata/v1', '169.254.169.254:80'],
  ['metadata.google.internal/computeMetadata/v1', 'metadata.google.internal'],
  ['fd00::1/ns/m', 'fd00::1'],
  ['fe80::a9fe:a9fe:8080/ns/m', 'fe80::a9fe:a9fe:8080'],
  ['internal.corp/ns/m', 'internal.corp'],
  ['INTERNAL.Corp/ns/m', 'internal.corp'],
  ['https://internal.corp/ns/m', 'internal.corp'],
  ['http://internal.corp:8080/ns/m', 'internal.corp:8080'],
  ['internal.corp/ns/m:local', 'internal.corp'],
  ['registry.ollama.ai.evil.example/library/llama3.2', 'registry.ollama.ai.evil.example'],
  ['registry.ollama.ai:8443/library/llama3.2', 'registry.ollama.ai:8443'],
  ['hf.co.evil.example/u/m', 'hf.co.evil.example'],
  ['evil-hf.co/u/m:Q4_K_M', 'evil-hf.co'],
];

describe('pull and push naming a registry host outside policy.registries are refused before anything is forwarded', () => {
  for (const path of ['/api/pull', '/api/push']) {
    for (const [model, host] of FOREIGN) {
      it(`${path} ${model}`, async () => {
        const r = await send(stack.w, manage, path, JSON.stringify({ model }));
        assert.equal(r.status, 403, r.text);
        const error = (JSON.parse(r.text) as { error: string }).error;
        assert.ok(error.includes(JSON.stringify(host)), `the answer names the host ${host}: ${error}`);
        assert.match(r.text, /policy\.registries/);
        assert.equal(r.reached, false, 'the request reached Ollama');
      });
    }
  }

  it('in `name`, alone or beside an allowed `model` (Ollama takes the first non-empty), and with insecure', async () => {
    for (const path of ['/api/pull', '/api/push']) {
      for (const body of [
        { name: '10.0.0.5:8080/ns/m' },
        { model: '', name: '10.0.0.5:8080/ns/m' },
        { model: 'llama3.2', name: '169.254.169.254/x/y' },
        { model: 'internal.corp/ns/m', name: 'llama3.2' },
        { model: '10.0.0.5:8080/ns/m', insecure: true },
        { model: '10.0.0.5:8080/ns/m', insecure: false, stream: false },
      ]) {
        const r = await send(stack.w, manage, path, JSON.stringify(body));
        assert.equal(r.status, 403, `${path} ${JSON.stringify(body)}: ${r.text}`);
        assert.equal(r.reached, false, `${path} ${JSON.stringify(body)} reached Ollama`);
      }
    }
  });

  it('/api/create `from` (Ollama pulls it when it lacks that model)', async () => {
    for (const from of ['10.0.0.5:8080/ns/m', '169.254.169.254/x/y', 'INTERNAL.CORP/ns/m:v1']) {
      const r = await send(stack.w, manage, '/api/create', JSON.stringify({ model: 'mine', from }));
      assert.equal(r.status, 403, `${from}: ${r.text}`);
      assert.match(r.text, /policy\.registries/);
      assert.equal(r.reached, false, `${from} reached Ollama`);
    }
  });

  it('the refusal is audited with the host', async () => {
    await send(stack.w, manage, '/api/pull', '{"model":"169.254.169.254/audit/probe"}');
    const line = await waitForAudit(stack.w, (l) => l.path === '/api/pull' && /"169\.254\.169\.254".*policy\.registries/.test(l.reason ?? ''), 10_000);
    assert.equal(line.status, 403);
  });
});

describe('spellings Ollama would read differently, other key spellings and bracketed IPv6 are refused (400), never forwarded', () => {
  const bodies = [
    // Go's strings.TrimSpace strips these (U+0085, U+00A0, U+3000 too); JavaScript's trim() differs
    '{"model":" 10.0.0.5:8080/ns/m"}',
    '{"model":"10.0.0.5:8080/ns/m\\u0085"}',
    '{"model":"\\u00a0169.254.169.254/x/y"}',
    '{"model":"internal.corp/ns/m\\u3000"}',
    '{"model":"internal.corp/ns/m\\t"}',
    '{"model":"internal.corp /ns/m"}',
    // IPv6 literals in brackets are not names Ollama accepts
    '{"model":"[::1]:11434/ns/m"}',
    '{"model":"[fd00::1]/ns/m"}',
    '{"model":"[fe80::1%25eth0]/ns/m"}',
    // Go's decoder matches keys in any letter case
    '{"MODEL":"internal.corp/ns/m"}',
    '{"model":"llama3.2","Name":"internal.corp/ns/m"}',
    '{"model":"llama3.2","\\u017fource":"x","mOdel":"internal.corp/ns/m"}',
  ];
  for (const path of ['/api/pull', '/api/push']) {
    for (const body of bodies) {
      it(`${path} ${body}`, async () => {
        const r = await send(stack.w, manage, path, body);
        assert.equal(r.status, 400, r.text);
        assert.equal(r.reached, false, 'the request reached Ollama');
      });
    }
  }
  it('/api/create {"From": …}', async () => {
    const r = await send(stack.w, manage, '/api/create', '{"model":"mine","From":"10.0.0.5:8080/ns/m"}');
    assert.equal(r.status, 400, r.text);
    assert.equal(r.reached, false);
  });
});

describe('the default registries still work', () => {
  const ALLOWED = [
    'llama3.2',
    'llama3.2:1b',
    'registry.ollama.ai/library/llama3.2',
    'REGISTRY.OLLAMA.AI/library/llama3.2',
    'https://registry.ollama.ai/library/llama3.2:latest',
    'hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M',
    'HF.co/bartowski/Llama-3.2-1B-Instruct-GGUF',
    'huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q8_0',
  ];
  for (const model of ALLOWED) {
    it(`pull ${model}`, async () => {
      const r = await send(stack.w, manage, '/api/pull', JSON.stringify({ model, stream: false }));
      assert.equal(r.reached, true, `${r.status} ${r.text}`);
    });
  }
  it('push to the default registry, implicit and explicit', async () => {
    for (const model of ['me/m', 'registry.ollama.ai/me/m:latest']) {
      const r = await send(stack.w, manage, '/api/push', JSON.stringify({ model, stream: false }));
      assert.equal(r.reached, true, `${model}: ${r.status} ${r.text}`);
    }
  });
  it('insecure: true stays refused on an allowed registry (policy.allowInsecureRegistries)', async () => {
    const r = await send(stack.w, manage, '/api/pull', '{"model":"registry.ollama.ai/library/llama3.2","insecure":true}');
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /allowInsecureRegistries/);
    assert.equal(r.reached, false);
  });
  it('/api/create from a default-registry model, and /api/copy to any name (local only)', async () => {
    const r = await send(stack.w, manage, '/api/create', '{"model":"mine","from":"llama3.2","stream":false}');
    assert.equal(r.reached, true, `${r.status} ${r.text}`);
    const c = await send(stack.w, manage, '/api/copy', '{"source":"llama3.2","destination":"internal.corp/ns/m"}');
    assert.equal(c.reached, true, `${c.status} ${c.text}`);
  });
});

describe('policy.registries ["*"] is the owner opting in to any host', () => {
  it('pull and push to a foreign host are forwarded', async () => {
    for (const path of ['/api/pull', '/api/push']) {
      const r = await send(stack.also.open, manageOpen, path, '{"model":"10.0.0.5:8080/ns/m","stream":false}');
      assert.equal(r.reached, true, `${path}: ${r.status} ${r.text}`);
    }
  });
});
