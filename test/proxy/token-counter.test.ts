// Token counts feed per-key token limits: a miscount lets a key exceed its budget. The counter
// sees answers split into arbitrary chunks, so every case is replayed split at every byte.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenCounter, tokenFormatFor, type TokenFormat } from '../../src/proxy/token-counter.ts';

const ndjsonStream = [
  JSON.stringify({ model: 'llama3.2', response: 'The', done: false }),
  JSON.stringify({ model: 'llama3.2', response: ' sky', done: false }),
  JSON.stringify({ model: 'llama3.2', response: '', done: true, context: [1, 2, 3], prompt_eval_count: 26, eval_count: 298 }),
].join('\n') + '\n';

const sseWithUsage =
  'data: {"id":"c","choices":[{"delta":{"content":"hi"}}]}\n\n' +
  'data: {"id":"c","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15}}\n\n' +
  'data: [DONE]\n\n';

const cases: { name: string; format: TokenFormat; body: string; want: [number | null, number | null] }[] = [
  { name: 'Ollama NDJSON stream: final done line', format: 'ndjson', body: ndjsonStream, want: [26, 298] },
  { name: 'Ollama non-streamed JSON without trailing newline', format: 'ndjson', body: '{"done":true,"prompt_eval_count":5,"eval_count":9}', want: [5, 9] },
  { name: 'embed answer: prompt tokens only', format: 'ndjson', body: '{"embeddings":[[0.1]],"prompt_eval_count":8}', want: [8, null] },
  { name: 'OpenAI non-streamed usage', format: 'ndjson', body: '{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}', want: [3, 2] },
  { name: 'OpenAI SSE with include_usage: the usage event before [DONE]', format: 'sse', body: sseWithUsage, want: [11, 4] },
  { name: 'OpenAI SSE without usage', format: 'sse', body: 'data: {"choices":[]}\n\ndata: [DONE]\n\n', want: [null, null] },
  {
    name: 'Responses API SSE: usage inside response.completed',
    format: 'sse',
    body: 'event: response.completed\ndata: {"type":"response.completed","response":{"usage":{"input_tokens":7,"output_tokens":3}}}\n\n',
    want: [7, 3],
  },
  { name: 'text that only looks like counts inside an answer string is not counted', format: 'ndjson', body: '{"response":"\\"eval_count\\":999","done":false}\n', want: [null, null] },
  { name: 'a truncated last line (upstream cut) yields no counts', format: 'ndjson', body: '{"done":false}\n{"done":true,"eval_cou', want: [null, null] },
  { name: 'blanks before the final record', format: 'ndjson', body: '{"done":false}\n \t {"done":true,"prompt_eval_count":2,"eval_count":3}\n', want: [2, 3] },
  { name: 'SSE data event without a space after the colon', format: 'sse', body: 'data:{"usage":{"prompt_tokens":4,"completion_tokens":5}}\n\ndata: [DONE]\n\n', want: [4, 5] },
  { name: 'an SSE comment or other field is not a record', format: 'sse', body: 'data: {"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n: keep-alive {"usage":{}}\nid: {"x":1}\n', want: [1, 1] },
  { name: 'negative or fractional counts are refused', format: 'ndjson', body: '{"prompt_eval_count":-1,"eval_count":1.5}', want: [null, null] },
];

void describe('token counter', () => {
  for (const c of cases) {
    void test(c.name, () => {
      const bytes = Buffer.from(c.body);
      for (let split = 0; split <= bytes.length; split++) {
        const counter = new TokenCounter(c.format);
        counter.push(bytes.subarray(0, split));
        counter.push(bytes.subarray(split));
        const got = counter.finish();
        assert.deepEqual([got.promptTokens, got.evalTokens], c.want, `split at ${split}`);
      }
    });
  }

  void test('many lines per chunk: the last line that can hold counts wins however the stream is cut', () => {
    // a fast stream delivers dozens of lines per chunk; the counter searches them from the end
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ response: `tok${i}`, done: false }));
    const bodies: [TokenFormat, string, [number, number]][] = [
      ['ndjson', [...lines, JSON.stringify({ done: true, prompt_eval_count: 12, eval_count: 50 }), '', '   ', 'not json'].join('\n') + '\n', [12, 50]],
      ['ndjson', [JSON.stringify({ done: true, prompt_eval_count: 1, eval_count: 2 }), ...lines.map(() => ' \t')].join('\n'), [1, 2]],
      ['sse', [...lines.map((l) => `data: ${l}\n`), 'data: {"choices":[],"usage":{"prompt_tokens":6,"completion_tokens":50}}\n', 'data: [DONE]\n', ''].join('\n'), [6, 50]],
    ];
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (const [format, body, want] of bodies) {
      const bytes = Buffer.from(body);
      for (let trial = 0; trial < 200; trial++) {
        const cuts = [0, ...Array.from({ length: rand(6) }, () => rand(bytes.length)).sort((a, b) => a - b), bytes.length];
        const counter = new TokenCounter(format);
        for (let i = 1; i < cuts.length; i++) counter.push(bytes.subarray(cuts[i - 1], cuts[i]));
        const got = counter.finish();
        assert.deepEqual([got.promptTokens, got.evalTokens], want, `${format} cut at ${cuts.join(',')}`);
      }
    }
  });

  void test('a final line too large to parse is read from its tail', () => {
    const huge = JSON.stringify({ done: true, context: Array.from({ length: 100_000 }, (_, i) => i), prompt_eval_count: 40, eval_count: 50 });
    assert.ok(huge.length > 256 * 1024);
    const counter = new TokenCounter('ndjson');
    const bytes = Buffer.from('{"done":false}\n' + huge + '\n');
    for (let i = 0; i < bytes.length; i += 4096) counter.push(bytes.subarray(i, i + 4096));
    assert.deepEqual(counter.finish(), { promptTokens: 40, evalTokens: 50 });
  });

  void test('one line per chunk, as Ollama sends a stream, and a huge final line in one chunk', () => {
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ message: { content: `tok${i}` }, done: false }) + '\n');
    const counter = new TokenCounter('ndjson');
    for (const l of lines) counter.push(Buffer.from(l));
    counter.push(Buffer.from(JSON.stringify({ done: true, prompt_eval_count: 26, eval_count: 50 }) + '\n'));
    counter.push(Buffer.from(' \n'));
    assert.deepEqual(counter.finish(), { promptTokens: 26, evalTokens: 50 }, 'a blank line after the record does not hide it');

    const huge = JSON.stringify({ done: true, context: Array.from({ length: 100_000 }, (_, i) => i), prompt_eval_count: 40, eval_count: 50 });
    const whole = new TokenCounter('ndjson');
    whole.push(Buffer.from('{"done":false}\n' + huge + '\n'));
    assert.deepEqual(whole.finish(), { promptTokens: 40, evalTokens: 50 });
  });

  void test('content types select the format; others carry no counts', () => {
    const cases2: [string | undefined, TokenFormat | null][] = [
      ['application/x-ndjson', 'ndjson'],
      ['application/json; charset=utf-8', 'ndjson'],
      ['text/event-stream', 'sse'],
      ['text/plain; charset=utf-8', null],
      [undefined, null],
    ];
    for (const [ct, want] of cases2) assert.equal(tokenFormatFor(ct), want, String(ct));
  });
});
