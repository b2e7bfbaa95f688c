// POST /v1/audio/transcriptions (Ollama's OpenAI audio route) names its model in a multipart
// form, which Go reads differently from a naive parser: a `model` in the URL query wins over the
// body's, quoted-printable parts are decoded, LF-only line ends and preambles are accepted. Each
// is a way to run a model the key may not use, or a cloud model. Only the plain form every client
// library sends is accepted, its model checked like any other, and its bytes forwarded unchanged.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden } from '../helpers/warden.ts';
import { createKeyViaCli } from './helpers.ts';
import { readFormFields } from '../../src/policy/multipart.ts';

let limited: string;
const B = 'formboundaryXyZ123';

const stack = withWarden({
  ollama: { chunks: 1, delayMs: 0 },
  afterStart: async () => {
    limited = (await createKeyViaCli(stack.w, ['--name', 'whisper-only', '--scope', 'inference', '--model', 'whisper*'])).key;
  },
});

function form(parts: Array<[name: string, value: string, extra?: string]>, nl = '\r\n', boundary = B): Buffer {
  let s = '';
  for (const [name, value, extra] of parts) s += `--${boundary}${nl}Content-Disposition: form-data; name="${name}"${extra ?? ''}${nl}${nl}${value}${nl}`;
  return Buffer.from(`${s}--${boundary}--${nl}`, 'utf8');
}
const audio = (model: string): Array<[string, string, string?]> => [
  ['model', model],
  ['file', 'RIFF....WAVEfmt ', '; filename="a.wav"\r\nContent-Type: audio/wav'],
];

async function send(body: Buffer, opts: { key?: string; query?: string; ct?: string } = {}): Promise<{ status: number; text: string; reached: Buffer | null }> {
  const before = stack.fake.requests.length;
  const res = await request(`${stack.w.url}/v1/audio/transcriptions${opts.query ?? ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${opts.key ?? limited}`, 'content-type': opts.ct ?? `multipart/form-data; boundary=${B}` },
    body,
    dispatcher: stack.w.dispatcher,
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, reached: stack.fake.requests.length > before ? stack.fake.requests[before]!.body : null };
}

describe('/v1/audio/transcriptions', () => {
  it('is routed: an allowed model reaches Ollama with the bytes the client sent', async () => {
    const body = form(audio('whisper-small'));
    const r = await send(body);
    assert.ok(r.reached, `${r.status} ${r.text}`);
    assert.deepEqual(r.reached, body);
  });

  const attacks: Array<[string, Buffer, { query?: string; ct?: string; key?: string }?]> = [
    ['a model the key may not use', form(audio('llama3.2'))],
    ['a cloud model (admin key)', form(audio('gpt-oss:120b-cloud')), { key: 'admin' }],
    ['a cloud spelling Ollama trims', form(audio('gpt-oss:20b:\u00a0cloud')), { key: 'admin' }],
    ['a model in the URL query (Go FormValue prefers it)', form(audio('whisper-small')), { query: '?model=llama3.2' }],
    ['the model field twice', form([['model', 'whisper-small'], ['model', 'llama3.2'], ['file', 'x', '; filename="a.wav"']])],
    ['LF-only line ends', form(audio('whisper-small'), '\n')],
    ['a quoted-printable model part', Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="model"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nllama3=2E2\r\n--${B}--\r\n`)],
    ['a preamble before the first boundary', Buffer.concat([Buffer.from('preamble\r\n'), form(audio('whisper-small'))])],
    ['an RFC 2231 name*= parameter', Buffer.from(`--${B}\r\nContent-Disposition: form-data; name*=utf-8''model\r\n\r\nllama3.2\r\n--${B}--\r\n`)],
    ['the model sent as a file', form([['model', 'llama3.2', '; filename="m.txt"']])],
    ['no model at all', form([['file', 'x', '; filename="a.wav"']])],
    ['a JSON body', Buffer.from('{"model":"llama3.2"}'), { ct: 'application/json' }],
    ['another boundary than the header says', form(audio('llama3.2'), '\r\n', 'otherboundary')],
  ];
  for (const [name, body, opts] of attacks) {
    it(`refuses ${name} before Ollama sees it`, async () => {
      const r = await send(body, { ...opts, key: opts?.key === 'admin' ? stack.w.adminKey : opts?.key });
      assert.ok(r.status === 400 || r.status === 403, `${r.status} ${r.text}`);
      assert.equal(r.reached, null, 'the request reached Ollama');
    });
  }
});

describe('readFormFields', () => {
  it('reads the text fields of the form client libraries send', () => {
    const got = readFormFields(`multipart/form-data; boundary="${B}"`, form([['model', 'whisper'], ['language', 'de'], ['file', '\u0000\u00ff', '; filename="a.wav"\r\nContent-Type: audio/wav']]));
    assert.deepEqual(got, { fields: { model: 'whisper', language: 'de' } });
  });
  it('a boundary string inside the data is data unless it follows CRLF', () => {
    const got = readFormFields(`multipart/form-data; boundary=${B}`, form([['model', `whisper --${B}`]]));
    assert.deepEqual(got, { fields: { model: `whisper --${B}` } });
  });
  it('an unterminated body is refused', () => {
    assert.ok('invalid' in readFormFields(`multipart/form-data; boundary=${B}`, Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper`)));
  });
});
