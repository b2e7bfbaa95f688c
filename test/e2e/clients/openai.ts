// Run as a child process with NODE_EXTRA_CA_CERTS=<warden CA>: the OpenAI SDK pointed at
// Warden's /v1 with the Warden key as its API key.
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: `${process.env.WARDEN_URL}/v1`, apiKey: process.env.WARDEN_KEY! });
const models = await client.models.list();
const completion = await client.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] });
const stream = await client.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: true });
let deltas = 0;
for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) deltas++;
const embed = await client.embeddings.create({ model: 'nomic-embed-text', input: 'hello', encoding_format: 'float' });
let status: number | null = null;
try {
  await new OpenAI({ baseURL: `${process.env.WARDEN_URL}/v1`, apiKey: 'owk_wrong', maxRetries: 0 }).models.list();
} catch (err) {
  status = (err as { status?: number }).status ?? null;
}
console.log(JSON.stringify({ models: models.data.map((m) => m.id), content: completion.choices[0]?.message.content ?? null, deltas, dims: embed.data[0]?.embedding.length ?? 0, wrongKeyStatus: status }));
