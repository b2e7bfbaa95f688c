// Run as a child process with NODE_EXTRA_CA_CERTS=<warden CA>, exactly as the README tells
// ollama-js users; prints one JSON line with what it saw.
import { Ollama } from 'ollama';

const ollama = new Ollama({ host: process.env.WARDEN_URL!, headers: { Authorization: `Bearer ${process.env.WARDEN_KEY}` } });
const list = await ollama.list();
const chunks: string[] = [];
for await (const part of await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: true })) {
  chunks.push(part.message.content);
}
const single = await ollama.generate({ model: 'llama3.2', prompt: 'hi', stream: false });
let refused: string | null = null;
try {
  await ollama.chat({ model: 'gpt-oss:120b-cloud', messages: [{ role: 'user', content: 'hi' }] });
} catch (err) {
  refused = (err as Error).message;
}
console.log(JSON.stringify({ models: list.models.map((m) => m.name), chunks: chunks.length, done: single.done, refused }));
